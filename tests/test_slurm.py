"""The SLURM executor against a real single-node SLURM (.ci/slurm-up starts one; CI runs it).
Outside CI these tests skip when no cluster answers; in CI they fail instead."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess

import pytest

from conftest import groklab_cli
from test_sweep import _spec


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


def _table(sweep_dir) -> list[dict]:
    out = groklab_cli("sweep", "table", str(sweep_dir), "--csv")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    for r in rows:
        r.pop("wall_s")
    return sorted(rows, key=lambda r: r["run_id"])


def test_slurm_and_local_sweeps_give_identical_tables(tmp_path):
    _cluster()
    spec = _spec(tmp_path, extra="\n[slurm]\ntime_min = 10\nmem_gb = 1\n")
    local = groklab_cli("sweep", "run", str(spec), "--out", str(tmp_path / "local"),
                        "--workers", "2", timeout=600)
    assert local.returncode == 0, local.stderr
    slurm = groklab_cli("sweep", "run", str(spec), "--out", str(tmp_path / "slurm"),
                        "--executor", "slurm", timeout=900)
    assert slurm.returncode == 0, slurm.stderr
    a, b = _table(tmp_path / "local"), _table(tmp_path / "slurm")
    assert len(a) == 4 and all(r["state"] == "done" for r in a)
    assert a == b  # same runs, same epochs, same key frequencies and verdicts
    jobs = json.loads((tmp_path / "slurm" / "slurm" / "jobs.json").read_text())
    assert sorted(jobs) == sorted(r["run_id"] for r in a)
    assert all("_" in j for j in jobs.values())  # one job array, one task per run
    again = groklab_cli("sweep", "run", str(spec), "--out", str(tmp_path / "slurm"),
                        "--executor", "slurm")
    assert again.returncode == 0 and _table(tmp_path / "slurm") == b  # nothing left to do


def test_slurm_bad_options_are_one_line(tmp_path):
    spec = _spec(tmp_path, extra="\n[slurm]\nwalltime = 5\n")
    out = groklab_cli("sweep", "run", str(spec), "--out", str(tmp_path / "s"), "--executor",
                      "slurm")
    assert out.returncode == 2 and "[slurm] walltime: unknown option" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and not (tmp_path / "s").exists()


def test_unreachable_slurm_is_one_line(tmp_path):
    spec = _spec(tmp_path)
    env_path = str(tmp_path / "empty-bin")
    os.mkdir(env_path)
    out = groklab_cli("sweep", "run", str(spec), "--out", str(tmp_path / "s"), "--executor",
                      "slurm", env={"PATH": env_path})
    assert out.returncode == 2 and "SLURM is not reachable" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and not (tmp_path / "s").exists()
