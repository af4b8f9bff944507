"""The SLURM executor against a real single-node SLURM (.ci/slurm-up starts one; CI runs it).
Outside CI these tests skip when no cluster answers; in CI they fail instead."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import SMALL, groklab_cli
from test_sweep import _csv_rows as _table, _spec


def _cluster() -> None:
    ok = shutil.which("sinfo") is not None and subprocess.run(
        ["sinfo", "-h", "-o", "%T"], capture_output=True, text=True).stdout.strip() != ""
    try:
        import submitit  # noqa: F401
    except ModuleNotFoundError:
        ok = False
    if not ok:
        if os.environ.get("CI"):
            pytest.fail("no SLURM cluster answers sinfo (or submitit is missing): .ci/run starts "
                        "one with .ci/slurm-up")
        pytest.skip("no SLURM cluster answers sinfo: start one with `sudo .ci/slurm-up`")


# runs that grok (conftest.SMALL: memorized by ~60, grokked by ~1300, ~10 s each), so the tables
# compare non-empty key frequencies and real verdicts, not the empties of runs that never learn
GROKKING = "\n".join(
    ["[base]", f'task = "{SMALL["task"]["name"]}"']
    + [f"{k} = {v!r}" for section in ("task", "model", "train") for k, v in SMALL[section].items()
       if k != "name"]
    + ["", "[axes]", "seed = [0, 1]", "weight_decay = [1.0, 2.0]",
       "", "[slurm]", "time_min = 10", "mem_gb = 1", "", "[batch]", "max_models = 2", ""])


def test_slurm_and_local_sweeps_give_identical_tables(tmp_path):
    _cluster()
    spec = tmp_path / "grok.toml"
    spec.write_text(GROKKING)
    local = groklab_cli("sweep", "run", str(spec), "--out", str(tmp_path / "local"),
                        "--workers", "2", timeout=600)
    assert local.returncode == 0, local.stderr
    slurm = groklab_cli("sweep", "run", str(spec), "--out", str(tmp_path / "slurm"),
                        "--executor", "slurm", timeout=900)
    assert slurm.returncode == 0, slurm.stderr
    a, b = _table(tmp_path / "local"), _table(tmp_path / "slurm")
    assert len(a) == 4 and all(r["state"] == "done" for r in a)
    assert all(r["grokked_epoch"] and json.loads(r["key_frequencies"]) for r in a), a
    assert all(r["verdict"] == "algorithmic" for r in a), a
    assert a == b  # same runs, same epochs, same key frequencies and verdicts
    jobs = json.loads((tmp_path / "slurm" / "slurm" / "jobs.json").read_text())
    assert sorted(jobs) == sorted(r["run_id"] for r in a)
    assert all("_" in j for j in jobs.values())  # one job array ...
    assert len(set(jobs.values())) == 2  # ... one task per work item of two runs trained together
    again = groklab_cli("sweep", "run", str(spec), "--out", str(tmp_path / "slurm"),
                        "--executor", "slurm")
    assert again.returncode == 0 and _table(tmp_path / "slurm") == b  # nothing left to do


@pytest.mark.parametrize("options,needle", [
    ("walltime = 5", "[slurm] 'walltime': unknown option"),
    ('partition = "debug\\nrm -rf /tmp/x"', "plain words"),  # a newline: a second script line
    ('extra = { qos = "short; touch /tmp/x" }', "plain words"),
    ("time_min = 0", "must be a finite number > 0"),
])
def test_slurm_bad_options_are_one_line(tmp_path, options, needle):
    spec = _spec(tmp_path, extra=f"\n[slurm]\n{options}\n")
    out = groklab_cli("sweep", "run", str(spec), "--out", str(tmp_path / "s"), "--executor",
                      "slurm")
    assert out.returncode == 2 and needle in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and not (tmp_path / "s").exists()


def test_unreachable_slurm_is_one_line(tmp_path):
    spec = _spec(tmp_path)
    env_path = str(tmp_path / "empty-bin")
    os.mkdir(env_path)
    out = groklab_cli("sweep", "run", str(spec), "--out", str(tmp_path / "s"), "--executor",
                      "slurm", env={"PATH": env_path})
    assert out.returncode == 2 and "SLURM is not reachable" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and not (tmp_path / "s").exists()


def test_a_requeued_task_resumes_its_run(tmp_path):
    """SLURM requeues a task mid-training (as on preemption): the task starts again, the run
    resumes from its own checkpoint, and the table equals the local executor's."""
    import time

    _cluster()
    spec = _spec(tmp_path, epochs=400, wds="[1.0]",
                 extra="\n[slurm]\ntime_min = 10\nmem_gb = 1\n")
    local = groklab_cli("sweep", "run", str(spec), "--out", str(tmp_path / "local"),
                        "--workers", "2", timeout=600)
    assert local.returncode == 0, local.stderr
    out = tmp_path / "slurm"
    proc = subprocess.Popen([sys.executable, "-m", "groklab.cli", "sweep", "run", str(spec),
                             "--out", str(out), "--executor", "slurm"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    jobs_file = out / "slurm" / "jobs.json"
    requeued = None
    deadline = time.time() + 120
    while time.time() < deadline and requeued is None:
        time.sleep(0.5)
        if not jobs_file.is_file():
            continue
        for run_id, job in json.loads(jobs_file.read_text()).items():
            ckpts = out / "runs" / run_id / "checkpoints"
            running = subprocess.run(["squeue", "-h", "-r", "-t", "R", "-o", "%i"],
                                     capture_output=True, text=True).stdout.split()
            if job in running and ckpts.is_dir() and len(list(ckpts.iterdir())) >= 3:
                subprocess.run(["scontrol", "requeue", job], check=True)
                requeued = run_id
                break
    assert requeued is not None, "no task was seen running with checkpoints"
    stdout, stderr = proc.communicate(timeout=900)
    assert proc.returncode == 0, stderr
    assert _table(out) == _table(tmp_path / "local")
    rows = [json.loads(line) for line in
            (out / "runs" / requeued / "metrics.jsonl").read_text().splitlines()]
    epochs = [r["epoch"] for r in rows]
    assert epochs == sorted(set(epochs))  # resumed, not restarted: no epoch logged twice
