"""The sweep's results in an embedded DuckDB file, DIR/results.duckdb, table `runs`: one row per
run with every config field as a column (by its config name; `task` for the task), then `state`,
`memorized_epoch`, `grokked_epoch`, `wall_s`, `key_frequencies` and `key_irreps` (JSON lists; the
second for group tasks), `algorithm`,
`verdict`, `llc` (the final checkpoint's, when the llc stage ran), `error`. Plain SQL works on it: `duckdb DIR/results.duckdb "SELECT ..."`."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from groklab.errors import GroklabError
from groklab.sweep.spec import SECTIONS, SweepRun

RESULTS_FILE = "results.duckdb"
SCHEMA_VERSION = 1  # the runs table's layout; a file of another version is refused
RESULT_COLUMNS = [("state", "VARCHAR"), ("memorized_epoch", "INTEGER"),
                  ("grokked_epoch", "INTEGER"), ("wall_s", "DOUBLE"),
                  ("key_frequencies", "VARCHAR"), ("key_irreps", "VARCHAR"), ("algorithm", "VARCHAR"),
                  ("verdict", "VARCHAR"), ("llc", "DOUBLE"), ("error", "VARCHAR")]
_SQL_TYPES = {"int": "BIGINT", "float": "DOUBLE", "str": "VARCHAR", "bool": "BOOLEAN",
              "int | None": "BIGINT"}


def config_columns() -> list[tuple[str, str]]:
    cols = [("run_id", "VARCHAR PRIMARY KEY"), ("seed", "UBIGINT"), ("preset", "VARCHAR")]
    for cls in SECTIONS.values():
        for f in dataclasses.fields(cls):
            cols.append(("task" if f.name == "name" else f.name,
                         _SQL_TYPES.get(str(f.type), "VARCHAR")))
    return cols


def columns() -> list[str]:
    return [c for c, _ in config_columns()] + [c for c, _ in RESULT_COLUMNS]


def _refuse(path: Path, why: str) -> GroklabError:
    return GroklabError(f"{path} {why}; move it aside and run `groklab sweep run` again: it "
                        "rebuilds the table from the run directories")


def _check_schema(con, path: Path) -> None:
    """The runs table must have exactly this groklab's columns, and the file its schema version
    (a file without the meta table, from before it existed, is accepted when its columns match)."""
    found = [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'runs' "
        "ORDER BY ordinal_position").fetchall()]
    if found != columns():
        extra = [c for c in found if c not in columns()]
        missing = [c for c in columns() if c not in found]
        raise _refuse(path, f"has a runs table of another schema (unknown columns {extra}, "
                            f"missing {missing})")
    meta = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = "
                       "'groklab_meta'").fetchone()[0]
    if meta:
        version = con.execute("SELECT max(schema_version) FROM groklab_meta").fetchone()[0]
        if version != SCHEMA_VERSION:
            raise _refuse(path, f"has schema version {version}; this groklab reads "
                                f"{SCHEMA_VERSION}")


def _connect(sweep_dir: Path, write: bool = True):
    """The results database, checked; every DuckDB error becomes one line naming the file."""
    import duckdb

    path = Path(sweep_dir) / RESULTS_FILE
    con = None
    try:
        con = duckdb.connect(str(path))
        ddl = ", ".join(f'"{c}" {t}' for c, t in config_columns() + RESULT_COLUMNS)  # "group"
        con.execute(f"CREATE TABLE IF NOT EXISTS runs ({ddl})")
        _check_schema(con, path)
        if write:
            con.execute("CREATE TABLE IF NOT EXISTS groklab_meta (schema_version INTEGER)")
            if con.execute("SELECT count(*) FROM groklab_meta").fetchone()[0] == 0:
                con.execute("INSERT INTO groklab_meta VALUES (?)", [SCHEMA_VERSION])
        return con
    except duckdb.Error as e:
        if con is not None:
            con.close()
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise _refuse(path, f"is not a readable results database ({first})") from None
    except GroklabError:
        con.close()
        raise


def row(run: SweepRun, result: dict) -> list:
    cfg = run.config.to_dict()
    values = [run.run_id, cfg["seed"], cfg["preset"]]
    for section in SECTIONS:
        values += list(cfg[section].values())
    keys, irreps = result.get("key_frequencies"), result.get("key_irreps")
    return values + [result.get("state"), result.get("memorized_epoch"),
                     result.get("grokked_epoch"), result.get("wall_s"),
                     None if keys is None else json.dumps(keys),
                     None if irreps is None else json.dumps(irreps), result.get("algorithm"),
                     result.get("verdict"), result.get("llc"), result.get("error")]


def upsert(sweep_dir: Path, rows: list[list]) -> None:
    if not rows:
        return
    import duckdb

    con = _connect(sweep_dir)
    try:
        marks = ", ".join("?" for _ in columns())
        con.executemany(f"INSERT OR REPLACE INTO runs VALUES ({marks})", rows)
    except duckdb.Error as e:
        raise _refuse(Path(sweep_dir) / RESULTS_FILE, f"could not be written ({e})") from None
    finally:
        con.close()


def read(sweep_dir: Path) -> tuple[list[str], list[tuple]]:
    con = _connect(sweep_dir, write=False)
    try:
        cur = con.execute("SELECT * FROM runs ORDER BY run_id")
        return [d[0] for d in cur.description], cur.fetchall()
    finally:
        con.close()
