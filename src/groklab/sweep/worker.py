"""One sweep run's stages in a worker process: the same function for the local process pool and for a
SLURM task (sweep/slurm_task.py), so neither executor imports the other."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from groklab.store import ANALYSIS_FILE, LLC_FILE, PROGRAM_JSON, RunStore

RUNS_DIR = "runs"
ERRORS_DIR = "errors"
PR_SET_PDEATHSIG = 1  # prctl(2)


def run_dir(sweep_dir: Path, run) -> Path:
    """The run directory of a sweep.spec.SweepRun."""
    return Path(sweep_dir) / RUNS_DIR / run.run_id


def stage_done(path: Path, stage: str) -> bool:
    store = RunStore(path)
    if stage == "train":
        return store.summary_path.is_file()
    return store.file({"analyze": ANALYSIS_FILE, "extract": PROGRAM_JSON,
                       "llc": LLC_FILE}[stage]).is_file()


def die_with_parent(parent: int) -> None:
    """A pool worker's initializer: the kernel kills the worker when the `sweep run` process dies,
    however it dies (kill -9 of it alone, the OOM killer), so no orphan outlives it; a worker whose
    parent is already gone exits at once. Workers are spawned, not forked, so they hold none of the
    parent's file descriptors (the sweep lock among them)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the parent check below still holds
        pass
    if os.getppid() != parent:
        os._exit(1)


def _one_thread() -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"


def _error(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[-1] if text else ''}"


def work_batch(paths: list[str], config_dicts: list[dict], stages: tuple[str, ...]
               ) -> list[str | None]:
    """Several runs' stages in one worker process: trained together (train.multiseed: each model
    is its single run), then each run's later stages on its own; one error line or None per run."""
    if len(paths) == 1:
        return [work(paths[0], config_dicts[0], stages)]
    _one_thread()
    from groklab.config import RunConfig
    from groklab.train.multiseed import train_many

    try:
        train_many([RunConfig.from_dict(c) for c in config_dicts], paths, threads=1, quiet=True)
    except Exception as e:  # noqa: BLE001 - the batch failed: every run of it is recorded
        return [_error(e)] * len(paths)
    return [work(p, c, stages) for p, c in zip(paths, config_dicts)]


def work(path: str, config_dict: dict, stages: tuple[str, ...]) -> str | None:
    """One run's stages in a worker process, pinned to one thread; the error line or None (a run
    already trained is not trained again)."""
    _one_thread()
    from groklab.engine import analyze_run
    from groklab.config import RunConfig
    from groklab.engine import extract_run
    from groklab.train import run

    try:
        if not stage_done(Path(path), "train"):
            run(RunConfig.from_dict(config_dict), path, threads=1, quiet=True)
        if "analyze" in stages and not stage_done(Path(path), "analyze"):
            analyze_run(path, with_progress=False)
        if "extract" in stages and not stage_done(Path(path), "extract"):
            extract_run(path, with_curve=False)
        if "llc" in stages and not stage_done(Path(path), "llc"):
            from groklab.analysis.llc.estimator import LLCSettings
            from groklab.analysis.llc.llc_json import llc_run

            llc_run(path, LLCSettings(), 1)
    except Exception as e:  # noqa: BLE001 - a failed run is recorded, the sweep goes on
        return _error(e)
    return None
