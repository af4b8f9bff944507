"""Run a sweep: the local executor (a process pool; each worker pinned to one torch and one BLAS
thread) or the SLURM executor (sweep/slurm.py: a job array through submitit). Either runs work
items (sweep/batching.py): runs whose configs differ only in seed, data seed, weight decay and
optimizer settings train together in one process, each still its single run. Resumable: a run whose stages are all done is
skipped, an interrupted one resumes from its own checkpoint; a second `sweep run` on a running
sweep is refused (an OS lock on DIR/sweep.lock).

The sweep directory: DIR/sweep.toml (the spec as given), DIR/runs/<run_id>/ (ordinary run
directories), DIR/errors/<run_id>.txt (the last error line of a failed run), DIR/results.duckdb.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from groklab.errors import GroklabError
from groklab.store import (ANALYSIS_FILE, LLC_FILE, PROGRAM_JSON, RunStore, ensure_dir, open_lock,
                           read_json)
from groklab.sweep import results
from groklab.sweep.spec import SweepRun, SweepSpec, expand, parse
from groklab.sweep.batching import work_items
from groklab.sweep.worker import (ERRORS_DIR, RUNS_DIR, die_with_parent, run_dir, stage_done,
                                  work_batch)

SPEC_FILE = "sweep.toml"
SWEEP_LOCK = "sweep.lock"
STATES = ("pending", "running", "done", "failed")


def state(sweep_dir: Path, run: SweepRun, stages) -> str:
    path = run_dir(sweep_dir, run)
    if all(stage_done(path, s) for s in stages):
        return "done"
    if RunStore(path).is_being_written():
        return "running"
    if (Path(sweep_dir) / ERRORS_DIR / f"{run.run_id}.txt").is_file():
        return "failed"
    return "pending"


def result_of(sweep_dir: Path, run: SweepRun, stages, error: str | None = None) -> dict:
    path = run_dir(sweep_dir, run)
    out = {"state": "failed" if error else state(sweep_dir, run, stages), "error": error}
    summary = RunStore(path).read_summary() if RunStore(path).summary_path.is_file() else None
    if summary:
        out.update(memorized_epoch=summary.get("memorized_epoch"),
                   grokked_epoch=summary.get("grokked_epoch"), wall_s=summary.get("wall_s"))
    analysis = RunStore(path).file(ANALYSIS_FILE)
    if analysis.is_file():
        a = read_json(analysis)
        out.update(key_frequencies=a.get("key_frequencies"), key_irreps=a.get("key_irreps"),
                   algorithm=a.get("algorithm"))
    llc = RunStore(path).file(LLC_FILE)
    if llc.is_file():
        estimates = read_json(llc).get("estimates") or []
        out["llc"] = estimates[-1].get("llc") if estimates else None
    program = RunStore(path).file(PROGRAM_JSON)
    if program.is_file():
        p = read_json(program)
        out.update(verdict=p.get("verdict"), algorithm=p.get("algorithm"))
    return out


@contextmanager
def sweep_lock(sweep_dir: Path) -> Iterator[None]:
    ensure_dir(Path(sweep_dir), "sweep directory")
    fd = open_lock(Path(sweep_dir) / SWEEP_LOCK)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise GroklabError(f"{sweep_dir} is being run by another `groklab sweep run`; wait for "
                           "it, or check it with `groklab sweep status`") from None
    try:
        yield
    finally:
        os.close(fd)


def load(sweep_dir: Path) -> tuple[SweepSpec, list[SweepRun]]:
    spec_path = Path(sweep_dir) / SPEC_FILE
    if not spec_path.is_file():
        raise GroklabError(f"{sweep_dir} is not a sweep directory (no {SPEC_FILE})")
    spec = parse(spec_path)
    return spec, expand(spec, str(spec_path))


EXECUTORS = ("local", "slurm")


def run_sweep(spec_path: str | Path, out: str | Path, workers: int | None = None,
              executor: str = "local",
              on_done: Callable[[str, str], None] | None = None) -> dict[str, int]:
    """Run every unfinished run of the spec into `out`; returns the state counts."""
    if executor not in EXECUTORS:
        raise GroklabError(f"executor={executor!r} is not one of: {', '.join(EXECUTORS)}")
    spec = parse(spec_path)
    runs = expand(spec, str(spec_path))
    out = Path(out)
    if workers is not None and (isinstance(workers, bool) or workers < 1):
        raise GroklabError(f"--workers {workers} must be >= 1 (leave it out for one per core)")
    workers = workers or os.cpu_count() or 1
    if executor == "slurm":
        from groklab.sweep.slurm import reachable

        reachable()  # one clear line, before anything is written or submitted
    with sweep_lock(out):
        existing = out / SPEC_FILE  # a changed spec keeps the ids of unchanged runs
        if not existing.exists() or Path(spec_path).resolve() != existing.resolve():
            shutil.copyfile(spec_path, existing)
        (out / RUNS_DIR).mkdir(exist_ok=True)
        (out / ERRORS_DIR).mkdir(exist_ok=True)
        todo = [r for r in runs if state(out, r, spec.stages) != "done"]
        results.upsert(out, [results.row(r, result_of(out, r, spec.stages)) for r in runs])

        def finish(r: SweepRun, error: str | None) -> None:
            err_file = out / ERRORS_DIR / f"{r.run_id}.txt"
            if error:
                err_file.write_text(error + "\n")
            else:
                err_file.unlink(missing_ok=True)
            results.upsert(out, [results.row(r, result_of(out, r, spec.stages, error))])
            if on_done:
                on_done(r.run_id, "failed" if error else "done")

        def args(item: list[SweepRun]) -> tuple:
            return ([str(run_dir(out, r)) for r in item], [r.config.to_dict() for r in item],
                    spec.stages)

        max_models = spec.batch.get("max_models")
        if executor == "slurm":
            from groklab.sweep.slurm import run_slurm

            run_slurm(out, work_items(todo, max_models), spec.slurm, args, finish)
        else:
            items = work_items(todo, max_models, workers)
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                     initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
                futures = {pool.submit(work_batch, *args(item)): item for item in items}
                for future in as_completed(futures):
                    for r, error in zip(futures[future], future.result()):
                        finish(r, error)
    return status_counts(out)[0]


def status_counts(sweep_dir: Path) -> tuple[dict[str, int], list[str]]:
    spec, runs = load(sweep_dir)
    counts = {s: 0 for s in STATES}
    failures = []
    for r in runs:
        s = state(sweep_dir, r, spec.stages)
        counts[s] += 1
        if s == "failed":
            line = (Path(sweep_dir) / ERRORS_DIR / f"{r.run_id}.txt").read_text().strip()
            failures.append(f"{r.run_id}: {line}")
    return counts, failures
