"""The sweep's results in an embedded DuckDB file, DIR/results.duckdb, table `runs`: one row per
run with every config field as a column (by its config name; `task` for the task), then `state`,
`memorized_epoch`, `grokked_epoch`, `wall_s`, `key_frequencies` and `key_irreps` (JSON lists; the
second for group tasks), `algorithm`,
`verdict`, `llc` (the final checkpoint's, when the llc stage ran), `error`. Plain SQL works on it: `duckdb DIR/results.duckdb "SELECT ..."`."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from groklab.sweep.spec import SECTIONS, SweepRun

RESULTS_FILE = "results.duckdb"
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


def _connect(sweep_dir: Path):
    import duckdb

    con = duckdb.connect(str(Path(sweep_dir) / RESULTS_FILE))
    ddl = ", ".join(f'"{c}" {t}' for c, t in config_columns() + RESULT_COLUMNS)  # "group" is SQL
    con.execute(f"CREATE TABLE IF NOT EXISTS runs ({ddl})")
    return con


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
    con = _connect(sweep_dir)
    try:
        marks = ", ".join("?" for _ in columns())
        con.executemany(f"INSERT OR REPLACE INTO runs VALUES ({marks})", rows)
    finally:
        con.close()


def read(sweep_dir: Path) -> tuple[list[str], list[tuple]]:
    con = _connect(sweep_dir)
    try:
        cur = con.execute("SELECT * FROM runs ORDER BY run_id")
        return [d[0] for d in cur.description], cur.fetchall()
    finally:
        con.close()
