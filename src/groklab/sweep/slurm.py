"""The SLURM executor: every work item of a sweep's unfinished runs (sweep/batching.py: one run, or
several that train together) as one task of a job array, submitted through submitit; `sweep run`
waits for them and fills the results table as tasks finish.

Each task runs the same `worker.work_batch` as the local executor (one thread), in the runs' own
directories, so a task requeued after preemption or a time limit (submitit's checkpointing: the
task is resubmitted as it was) resumes from those runs' last checkpoints. The job ids are recorded in
DIR/slurm/jobs.json: a second `sweep run` after the first was killed waits for the tasks still in
the queue instead of submitting them twice.

Spec options (`[slurm]` in sweep.toml, all optional): `partition`, `time_min` (per task, default
60), `mem_gb` (default 4), `cpus_per_task` (default 1), `array_parallelism` (default 64), `extra`
(a table of further sbatch options, e.g. `{ qos = "short" }`).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable

from groklab.errors import GroklabError

SLURM_DIR = "slurm"
JOBS_FILE = "jobs.json"
OPTIONS = {"partition": (str,), "time_min": (int,), "mem_gb": (int, float),
           "cpus_per_task": (int,), "array_parallelism": (int,), "extra": (dict,)}
POLL_S = 2.0


def check_options(options: dict, where: str) -> None:
    """One clear line for an unknown [slurm] key or a value of the wrong type."""
    for key, value in options.items():
        if key not in OPTIONS:
            raise GroklabError(f"{where}: [slurm] {key!r}: unknown option; allowed: "
                               f"{', '.join(OPTIONS)}")
        if not isinstance(value, OPTIONS[key]) or isinstance(value, bool):
            raise GroklabError(f"{where}: [slurm] {key}={value!r} must be "
                               f"{' or '.join(t.__name__ for t in OPTIONS[key])}")
        if key not in ("extra", "partition") and not (math.isfinite(value) and value > 0):
            raise GroklabError(f"{where}: [slurm] {key}={value!r} must be a finite number > 0")
    # values become `#SBATCH` lines of a generated script: one line each, nothing else
    extra = options.get("extra", {})
    texts = [("partition", options.get("partition", ""))] + [
        (f"extra.{k}", v) for k, v in extra.items()] + [(f"extra key {k!r}", k) for k in extra]
    for name, value in texts:
        if isinstance(value, bool):  # a flag such as `exclusive = true`
            continue
        if not isinstance(value, (str, int, float)) or not re.fullmatch(r"[\w.,:=@%/+-]*", str(value)):
            raise GroklabError(f"{where}: [slurm] {name}={value!r}: sbatch options take plain "
                               "words (letters, digits, . , : = @ % / + -), no spaces or newlines")


def reachable() -> None:
    """Raise one clear line unless sbatch, a cluster answering sinfo, and submitit are there."""
    missing = [c for c in ("sbatch", "sinfo", "squeue") if shutil.which(c) is None]
    if missing:
        raise GroklabError(f"SLURM is not reachable: {', '.join(missing)} not found on PATH "
                           "(on a test machine, start one with .ci/slurm-up)")
    try:
        r = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        raise GroklabError("SLURM is not reachable: sinfo did not answer within 20 s") from None
    if r.returncode != 0 or not r.stdout.strip():
        why = (r.stderr.strip().splitlines() or ["no partition or node"])[-1]
        raise GroklabError(f"SLURM is not reachable: sinfo: {why}")
    try:
        import submitit  # noqa: F401
    except ModuleNotFoundError:
        raise GroklabError("--executor slurm needs submitit: pip install 'groklab[slurm]'") from None


def _queued() -> set[str]:
    """Ids of the array tasks SLURM still holds (pending or running), one per task."""
    r = subprocess.run(["squeue", "-h", "-r", "-o", "%i"], capture_output=True, text=True,
                       timeout=30)
    return set(r.stdout.split()) if r.returncode == 0 else set()


def _error_line(e: BaseException) -> str:
    text = [line for line in str(e).strip().splitlines() if line.strip()]
    return f"{type(e).__name__}: {text[-1] if text else ''}"[:500]


def run_slurm(out: Path, items: list[list], options: dict, work_args: Callable,
              finish: Callable[[object, str | None], None]) -> None:
    """Submit `items` (lists of SweepRuns) as one job array, one task each, wait, and call
    finish(run, error) for every run."""
    import submitit

    from groklab.store import write_json
    from groklab.sweep.slurm_task import RunTask

    folder = Path(out) / SLURM_DIR
    folder.mkdir(exist_ok=True)
    jobs_file = folder / JOBS_FILE
    recorded = json.loads(jobs_file.read_text()) if jobs_file.is_file() else {}
    queued = _queued()
    waiting = {}  # first run's id -> (item, job)
    for item in items:
        ids = {recorded.get(r.run_id) for r in item}
        job_id = ids.pop() if len(ids) == 1 else None
        if job_id in queued:  # submitted by an earlier `sweep run`: wait for it, do not resubmit
            waiting[item[0].run_id] = (item, submitit.SlurmJob(folder=folder / "%j", job_id=job_id))
    fresh = [item for item in items if item[0].run_id not in waiting]
    if fresh:
        executor = submitit.AutoExecutor(folder=folder / "%j", cluster="slurm")
        params = {"timeout_min": options.get("time_min", 60), "mem_gb": options.get("mem_gb", 4),
                  "cpus_per_task": options.get("cpus_per_task", 1), "name": "groklab-sweep",
                  "slurm_array_parallelism": options.get("array_parallelism", 64),
                  "slurm_additional_parameters": dict(options.get("extra", {}))}
        if "partition" in options:
            params["slurm_partition"] = options["partition"]
        executor.update_parameters(**params)
        try:
            with executor.batch():
                jobs = [executor.submit(RunTask(), *work_args(item)) for item in fresh]
        except Exception as e:  # noqa: BLE001 - sbatch's own message, one line
            raise GroklabError(f"sbatch refused the sweep's job array: {_error_line(e)}") from None
        for item, job in zip(fresh, jobs):
            waiting[item[0].run_id] = (item, job)
            recorded.update({r.run_id: job.job_id for r in item})
        write_json(jobs_file, recorded)
    while waiting:
        for key, (item, job) in list(waiting.items()):
            if not job.done():
                continue
            try:
                errors = job.result()
            except Exception as e:  # noqa: BLE001 - a failed task is recorded, the sweep goes on
                errors = [_error_line(e)] * len(item)
            if not isinstance(errors, list):  # a task of a single run (an older groklab)
                errors = [errors] * len(item)
            del waiting[key]
            for run, error in zip(item, errors):
                finish(run, error)
        if waiting:
            time.sleep(POLL_S)
