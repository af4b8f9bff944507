"""`groklab sweep report DIR`: the sweep's numbers (sweep.stats) drawn by report.sweep_html."""

from __future__ import annotations

from pathlib import Path

from groklab.store import REPORT_FILE, write_text
from groklab.sweep import results, stats
from groklab.sweep.execute import RUNS_DIR, load

SWEEP_REPORT = "report.html"


def sweep_report(sweep_dir: str | Path, out: str | Path | None = None) -> Path:
    import plotly.offline

    from groklab.report.sweep_html import render

    sweep_dir = Path(sweep_dir)
    spec, _ = load(sweep_dir)
    columns, raw = results.read(sweep_dir)
    rows = [dict(zip(columns, r)) for r in raw]
    swept = [("task" if f == "name" else f) for f in spec.swept_fields]
    axes = [f for f in swept if f != "seed"]
    axes = axes if len(axes) >= 2 else axes + [f for f in swept if f not in axes]
    diagram = stats.phase_diagram(rows, axes[0], axes[1]) if len(axes) >= 2 else None
    axis = axes[0] if axes else None
    groups = stats.grokking_by(rows, axis) if axis else []
    links = {r["run_id"]: f"{RUNS_DIR}/{r['run_id']}/{REPORT_FILE}" for r in rows
             if (sweep_dir / RUNS_DIR / r["run_id"] / REPORT_FILE).is_file()}
    html = render(str(sweep_dir), plotly.offline.get_plotlyjs(), rows, columns, swept, diagram,
                  groups, axis, stats.frequency_usage(rows), links)
    target = Path(out) if out else sweep_dir / SWEEP_REPORT
    write_text(target, html)
    return target
