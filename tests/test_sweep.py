"""Sweeps: the spec and its ids, the local executor, resumption, the DuckDB table, the report."""

import csv
import io
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import groklab_cli
from surfaces import gone
from groklab.errors import GroklabError
from groklab.sweep.spec import expand, parse

SPEC = """
[base]
task = "add"
p = 13
frac_train = 0.5
d_model = 16
n_heads = 2
d_head = 8
d_mlp = 32
epochs = {epochs}
lr = 3e-3
eval_every = 5
ckpt_every = 20
ckpt_log_points = 5

[axes]
seed = [0, 1]
weight_decay = {wds}
"""


def _spec(tmp_path, epochs=60, wds="[0.5, 1.0]", extra="", name="sweep.toml"):
    path = tmp_path / name
    path.write_text(SPEC.format(epochs=epochs, wds=wds) + extra)
    return path


def test_ids_are_stable_and_adding_a_value_keeps_them(tmp_path):
    a = [r.run_id for r in expand(parse(_spec(tmp_path)))]
    b = [r.run_id for r in expand(parse(_spec(tmp_path)))]
    assert a == b and len(set(a)) == 4
    more = [r.run_id for r in expand(parse(_spec(tmp_path, wds="[0.5, 1.0, 2.0]", name="m.toml")))]
    assert set(a) < set(more) and len(more) == 6


@pytest.mark.parametrize("extra,text", [
    ("wings = [1]\n", "'wings': unknown config field"),
    ("lr = [-1.0]\n", "lr=-1.0 must be > 0"),
    ("d_mlp = []\n", "'d_mlp' must be a non-empty list"),
    ("seed = [3]\n", "Cannot overwrite a value"),  # a duplicate key: TOML refuses it
    ("\n[zip]\nweight_decay = [1.0]\n", "duplicate axis"),
    ("\n[zip]\nlr = [1e-3, 2e-3]\nd_mlp = [32]\n", "one length"),
    ("\n[batch]\nmax_models = 0\n", "max_models = 0 must be an integer from 1 to 4096"),
    ("\n[batch]\nmax_models = true\n", "max_models = True must be an integer"),
    ("\n[batch]\nmax_models = 2.5\n", "max_models = 2.5 must be an integer"),
    ("\n[batch]\nmodels = 2\n", "'models': unknown option; allowed: max_models"),
])
def test_bad_specs_are_one_line_and_submit_nothing(tmp_path, extra, text):
    spec = _spec(tmp_path, extra=extra)
    with pytest.raises(GroklabError, match=text):
        parse(spec)
    r = groklab_cli("sweep", "run", str(spec), "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "out").exists()


def _table(out) -> list[dict]:
    r = groklab_cli("sweep", "table", str(out), "--csv")
    assert r.returncode == 0, r.stderr
    return list(csv.DictReader(io.StringIO(r.stdout)))


def test_local_sweep_runs_resumes_and_reports(tmp_path):
    spec = _spec(tmp_path)
    out = tmp_path / "out"
    r = groklab_cli("sweep", "run", str(spec), "--out", str(out), "--workers", "2", timeout=600)
    assert r.returncode == 0, r.stderr
    rows = _table(out)
    assert len(rows) == 4 and {row["state"] for row in rows} == {"done"}
    for column in ("run_id", "seed", "weight_decay", "state", "memorized_epoch", "grokked_epoch",
                   "wall_s", "algorithm", "verdict"):
        assert column in rows[0]
    assert sorted((row["seed"], row["weight_decay"]) for row in rows) == \
        [("0", "0.5"), ("0", "1.0"), ("1", "0.5"), ("1", "1.0")]
    status = groklab_cli("sweep", "status", str(out))
    assert status.stdout.startswith("pending 0, running 0, done 4, failed 0")
    again = groklab_cli("sweep", "run", str(spec), "--out", str(out), "--workers", "2")
    assert again.returncode == 0 and again.stdout.strip().splitlines()[-1].startswith(
        "pending 0, running 0, done 4")  # nothing ran again
    assert len(again.stdout.strip().splitlines()) == 1
    import duckdb

    con = duckdb.connect(str(out / "results.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM runs WHERE state = 'done'").fetchone()[0] == 4
    con.close()
    rep = groklab_cli("sweep", "report", str(out))
    assert rep.returncode == 0, rep.stderr
    html = (out / "report.html").read_text()
    assert "Phase diagram" in html and "Grokking epochs" in html and "<script src=" not in html


@pytest.mark.slow
@pytest.mark.parametrize("victim", ["group", "parent"])
def test_killed_sweep_resumes_to_the_same_table(tmp_path, victim):
    """kill -9 of the whole process group, or of the `sweep run` process alone (as `kill PID` or
    the OOM killer would): no worker outlives it, no lock blocks the rerun, the table is the
    uninterrupted one."""
    spec = _spec(tmp_path, epochs=3000)
    full = tmp_path / "full"
    assert groklab_cli("sweep", "run", str(spec), "--out", str(full), "--workers", "2",
                       timeout=900).returncode == 0
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "groklab.cli", "sweep", "run", str(spec),
                             "--out", str(killed), "--workers", "2"], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not list((killed / "runs").glob("*/metrics.jsonl")):
        time.sleep(0.2)
    time.sleep(1.0)
    if victim == "group":
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its workers, mid-way
    else:
        os.kill(proc.pid, signal.SIGKILL)  # the parent alone: its workers must die with it
    proc.wait()
    assert gone(proc.pid), "pool workers outlived the killed sweep"
    status = groklab_cli("sweep", "status", str(killed)).stdout
    assert "done 4" not in status
    r = groklab_cli("sweep", "run", str(spec), "--out", str(killed), "--workers", "2", timeout=900)
    assert r.returncode == 0, r.stderr
    keep = ("run_id", "state", "memorized_epoch", "grokked_epoch", "algorithm")
    a = sorted(tuple(row[k] for k in keep) for row in _table(full))
    b = sorted(tuple(row[k] for k in keep) for row in _table(killed))
    assert a == b


def test_llc_stage_fills_its_column(tmp_path):
    spec = _spec(tmp_path, wds="[1.0]", extra='')
    text = spec.read_text().replace("[base]", 'stages = ["train", "llc"]\n[base]')
    spec.write_text(text.replace("seed = [0, 1]", "seed = [0]"))
    out = tmp_path / "out"
    r = groklab_cli("sweep", "run", str(spec), "--out", str(out), "--workers", "1", timeout=600)
    assert r.returncode == 0, r.stderr
    rows = _table(out)
    assert len(rows) == 1 and rows[0]["state"] == "done"
    import json

    saved = json.loads((out / "runs" / rows[0]["run_id"] / "llc.json").read_text())
    value = saved["estimates"][-1]["llc"]
    assert (rows[0]["llc"] == "") if value is None else float(rows[0]["llc"]) == value


def test_second_sweep_run_is_refused(tmp_path):
    from groklab.sweep.execute import sweep_lock

    spec = _spec(tmp_path)
    out = tmp_path / "out"
    with sweep_lock(out):
        r = groklab_cli("sweep", "run", str(spec), "--out", str(out))
        s = groklab_cli("sweep", "run", str(spec), "--out", str(out), "--executor", "slurm")
    assert r.returncode == 2 and "being run by another" in r.stderr
    # through SLURM too: refused by the lock (or, with no cluster, as unreachable), one line
    assert s.returncode == 2 and len(s.stderr.strip().splitlines()) == 1
    assert "being run by another" in s.stderr or "SLURM is not reachable" in s.stderr
    assert not (out / "runs").exists()


def test_regions_of_the_phase_diagram():
    from groklab.sweep.stats import phase_diagram, region

    def row(frac, wd, mem, grok, state="done"):
        return {"frac_train": frac, "weight_decay": wd, "memorized_epoch": mem,
                "grokked_epoch": grok, "state": state}

    assert region(row(0.5, 1, None, None)) == "confusion"
    assert region(row(0.5, 1, 80, None)) == "memorization"
    assert region(row(0.5, 1, 80, 900)) == "grokking"
    assert region(row(0.5, 1, 80, 150)) == "comprehension"
    assert region(row(0.5, 1, 80, None, state="running")) is None
    rows = [row(0.2, 0.0, 50, None), row(0.2, 0.0, 60, None),       # memorization
            row(0.8, 1.0, 40, 90), row(0.8, 1.0, 40, 100),          # comprehension
            row(0.2, 1.0, 50, 700), row(0.2, 1.0, 50, None),        # a tie: grokking
            row(0.8, 0.0, None, None), row(0.8, 0.0, None, None)]   # confusion
    d = phase_diagram(rows, "frac_train", "weight_decay")
    assert d["xs"] == [0.2, 0.8] and d["ys"] == [0.0, 1.0]
    assert d["region"] == [["memorization", "confusion"], ["grokking", "comprehension"]]
    assert d["fraction_grokked"][1][0] == 0.5 and d["median_grokked_epoch"][1][0] == 700.0


def _csv_rows(out):
    r = groklab_cli("sweep", "table", str(out), "--csv")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    for row in rows:
        row.pop("wall_s")
    return sorted(rows, key=lambda row: row["run_id"])


def test_runs_are_grouped_into_work_items_by_what_may_differ(tmp_path):
    from groklab.sweep.batching import work_items

    spec = _spec(tmp_path, wds="[0.5, 1.0]", extra="lr = [3e-3, 1e-2]\nd_mlp = [32, 48]\n")
    runs = expand(parse(spec))
    assert len(runs) == 16
    items = work_items(runs, max_models=8)
    assert sorted(len(i) for i in items) == [8, 8]  # seed x weight decay x lr, one item per d_mlp
    for item in items:
        assert len({r.config.model.d_mlp for r in item}) == 1
        assert len({r.config.train.lr for r in item}) == 2  # optimizer settings train together
    assert sorted(len(i) for i in work_items(runs, max_models=3)) == [2, 2, 3, 3, 3, 3]
    assert sorted(len(i) for i in work_items(runs, max_models=8, workers=4)) == [2, 2, 2, 2] * 2
    assert all(len(i) == 1 for i in work_items(runs, max_models=1))
    assert all(len(i) == 1 for i in work_items(runs, None))  # the CPU default: every run alone


def test_a_batched_sweep_equals_the_same_sweep_run_alone(tmp_path):
    """One work item of four runs (one worker) against four single runs: the same table."""
    batched = _spec(tmp_path, name="b.toml", extra="\n[batch]\nmax_models = 4\n")
    alone = _spec(tmp_path, name="a.toml", extra="\n[batch]\nmax_models = 1\n")
    for spec, out in ((batched, "b"), (alone, "a")):
        r = groklab_cli("sweep", "run", str(spec), "--out", str(tmp_path / out), "--workers", "1",
                        timeout=600)
        assert r.returncode == 0, r.stderr
    a, b = _csv_rows(tmp_path / "a"), _csv_rows(tmp_path / "b")
    assert len(a) == 4 and all(row["state"] == "done" for row in a)
    assert a == b
    from groklab.store import RunStore
    for row in a:
        x = RunStore(tmp_path / "a" / "runs" / row["run_id"]).read_metrics()
        y = RunStore(tmp_path / "b" / "runs" / row["run_id"]).read_metrics()
        assert x == y  # every logged number, bit for bit
