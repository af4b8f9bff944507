"""The offline HTML report of a sweep: rendering only (the numbers come from sweep.stats)."""

from __future__ import annotations

import plotly.graph_objects as go

from groklab.report.figures import LAYOUT
from groklab.report.html import BOOT, CSS, _json_script, _section, _table, esc


def _phase_figure(diagram: dict) -> go.Figure:
    regions = diagram.get("region") or [[None] * len(r) for r in diagram["fraction_grokked"]]
    text = [[(g or "") + ("" if f is None else f"<br>{f:.0%}") + ("" if m is None else f" @ {m:.0f}")
             for f, m, g in zip(frow, mrow, grow)]
            for frow, mrow, grow in zip(diagram["fraction_grokked"],
                                        diagram["median_grokked_epoch"], regions)]
    fig = go.Figure(go.Heatmap(z=diagram["fraction_grokked"], x=[str(v) for v in diagram["xs"]],
                               y=[str(v) for v in diagram["ys"]], text=text,
                               texttemplate="%{text}", colorscale="Viridis", zmin=0, zmax=1,
                               colorbar=dict(title="grokked")))
    fig.update_layout(**LAYOUT, title="Phase diagram: region, fraction of seeds grokked @ median "
                                      "epoch",
                      xaxis_title=diagram["x"], yaxis_title=diagram["y"])
    return fig


def _grokking_figure(groups: list[dict], axis: str) -> go.Figure:
    fig = go.Figure()
    for g in groups:
        fig.add_trace(go.Box(y=g["epochs"], name=str(g["value"]), boxpoints="all",
                             showlegend=False))
    med = [g for g in groups if g["median"] is not None]
    fig.add_trace(go.Scatter(x=[str(g["value"]) for g in med], y=[g["median"] for g in med],
                             error_y=dict(type="data", symmetric=False,
                                          array=[g["high"] - g["median"] for g in med],
                                          arrayminus=[g["median"] - g["low"] for g in med]),
                             mode="markers", name="median, 95% bootstrap CI",
                             marker=dict(color="black", size=9)))
    fig.update_layout(**LAYOUT, title=f"Grokking epoch by {axis}", xaxis_title=axis,
                      yaxis_title="grokked at epoch")
    return fig


def _usage_figure(usage: dict) -> go.Figure:
    irreps = any(isinstance(k, str) for k in usage)
    fig = go.Figure(go.Bar(x=[str(k) for k in usage] if irreps else list(usage),
                           y=list(usage.values())))
    what = "irrep" if irreps else "frequency"
    fig.update_layout(**LAYOUT, title=f"Key-{what} usage across runs",
                      xaxis_title="irrep" if irreps else "frequency k", yaxis_title="runs")
    return fig


def render(name: str, plotly_js: str, rows: list[dict], columns: list[str], swept: list[str],
           diagram: dict | None, groups: list[dict], axis: str | None, usage: dict,
           links: dict[str, str]) -> str:
    figs = []
    if diagram:
        figs.append(("sweep-phase", _phase_figure(diagram)))
    if axis:
        figs.append(("sweep-grokking", _grokking_figure(groups, axis)))
    if usage:
        figs.append(("sweep-usage", _usage_figure(usage)))
    divs = {i: f'<div class="plot" id="{i}"></div>' for i, _ in figs}
    scripts = "".join(_json_script(f"{i}-json", f.to_json()) for i, f in figs)
    shown = ["run_id", *swept, "state", "memorized_epoch", "grokked_epoch", "algorithm", "verdict",
             "wall_s"]
    table_rows = []
    for r in rows:
        cells = ["-" if r.get(c) is None else r.get(c) for c in shown]
        table_rows.append(cells)
    table = _table(shown, table_rows)
    link_list = "".join(f'<li><a href="{esc(href)}">{esc(rid)}</a></li>'
                        for rid, href in links.items())
    sections = []
    if diagram:
        sections.append(_section("Phase diagram", f"Over {diagram['x']} × {diagram['y']}: each "
                                 "cell names its runs' region (the majority) and gives the fraction "
                                 "that grokked (test accuracy >= 99%) @ their median grokking "
                                 f"epoch. Regions: {diagram.get('region_rule', '')}.",
                                 divs["sweep-phase"]))
    if axis:
        sections.append(_section("Grokking epochs", f"Per value of {axis}: every run's grokking "
                                 "epoch, the median and its 95% bootstrap interval.",
                                 divs["sweep-grokking"]))
    if usage:
        sections.append(_section("Key frequencies", "How many runs use each key frequency (or, "
                                 "for group tasks, each key irrep).",
                                 divs["sweep-usage"]))
    sections.append(_section("Runs", f"{len(rows)} runs (results.duckdb, table runs).",
                             table + (f"<ul>{link_list}</ul>" if link_list else "")))
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>groklab sweep: {esc(name)}</title><style>{CSS}</style>"
            f"<script>{plotly_js}</script></head><body><header><h1>groklab sweep</h1>"
            f"<p>{esc(name)}</p></header><main>{''.join(sections)}</main>{scripts}"
            f"<script>{BOOT}</script></body></html>\n")
