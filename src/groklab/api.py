"""The Python API for notebooks and scripts: one call per stage, and `demo` for the whole story.

    import groklab
    run = groklab.train("demo")                  # or a RunConfig; returns TrainResult
    result = groklab.analyze(run.path)           # AnalysisResult (also RUN/analysis.json)
    prog = groklab.extract(run.path)             # ExtractResult (also RUN/program.py)
    groklab.report(run.path)                     # RUN/report.html
    groklab.figures.circles(result.to_dict())    # any figure, as a plotly Figure
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from groklab.config import RunConfig, preset
from groklab.errors import GroklabError
from groklab.store import (LLC_FILE, PROGRAM_FILE, PROGRAM_JSON, REPORT_FILE, RunStore,
                           read_analysis, read_json, write_text)


def train(config: RunConfig | str = "demo", out: str | Path | None = None, **options):
    """Train a preset name or a RunConfig into `out` (default runs/NAME-TASK-pP-seedS).
    Options: threads, device, quiet, overwrite. Returns a TrainResult."""
    from groklab.train import run

    if isinstance(config, str):
        config = preset(config)
    if out is None:
        t = config.task
        out = Path("runs") / f"{config.preset}-{t.name}-p{t.p}-seed{config.seed}"
    return run(config, out, **options)


def analyze(target: str | Path, **options):
    """Analyse a run directory (every checkpoint) or a model file. Returns an AnalysisResult."""
    from groklab.engine import analyze_file, analyze_run

    return analyze_run(target, **options) if Path(target).is_dir() else \
        analyze_file(target, **options)


def extract(target: str | Path, **options):
    """Extract and verify the program of a run or a model file. Returns an ExtractResult."""
    from groklab.engine import extract_file, extract_run

    return extract_run(target, **options) if Path(target).is_dir() else \
        extract_file(target, **options)


def report(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the self-contained HTML report of an analysed run; returns its path."""
    import plotly.offline

    from groklab.report.html import ReportContext
    from groklab.report.pages import render_kind

    store = RunStore(run_dir)
    if not store.is_run():
        raise GroklabError(f"{run_dir} is not a groklab run directory (no config.json)")
    analysis = read_analysis(store.path)
    program_json = store.file(PROGRAM_JSON)
    program = read_json(program_json) if program_json.is_file() else None
    source = store.file(PROGRAM_FILE)
    llc_json = store.file(LLC_FILE)
    ctx = ReportContext(str(store.path), read_json(store.config_path), store.read_summary() or {},
                        store.read_metrics(), analysis, program,
                        source.read_text() if source.is_file() else None,
                        read_json(llc_json) if llc_json.is_file() else None)
    out = Path(out) if out else store.file(REPORT_FILE)
    page = render_kind(ctx, plotly.offline.get_plotlyjs())
    with store.writer():
        write_text(out, page)
    return out


def demo(out: str | Path = "runs/demo", threads: int | None = None, quiet: bool = False,
         overwrite: bool = False, say: Callable[[str], None] = print):
    """Train the demo preset, analyse every checkpoint, extract the program, write the report."""
    import time

    from groklab.engine import analyze_and_extract
    from groklab.train import run

    t0 = time.perf_counter()
    say(f"[1/3] training the demo preset into {out} (a+b mod 113, 1-layer transformer)")
    trained = run(preset("demo"), out, threads=threads, quiet=quiet, overwrite=overwrite)
    say(f"      memorized at epoch {trained.summary['memorized_epoch']}, grokked at epoch "
        f"{trained.summary['grokked_epoch']} ({time.perf_counter() - t0:.0f} s)")
    say("[2/3] analysing every checkpoint, extracting and verifying the program (one pass)")
    analysis, program = analyze_and_extract(out, on_checkpoint=ticker(quiet, "analyze + extract"))
    say("[3/3] writing the report")
    path = report(out)
    return trained, analysis, program, path, time.perf_counter() - t0


def ticker(quiet: bool, desc: str) -> Callable[[int, int], None]:
    """A progress callback (done, total) drawing a tqdm bar on a terminal."""
    import sys

    from tqdm import tqdm

    bar = tqdm(total=0, disable=quiet or not sys.stderr.isatty(), desc=f"      {desc}", unit="ckpt",
               leave=False)

    def tick(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)
        if done == total:
            bar.close()

    return tick
