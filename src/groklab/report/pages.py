"""The report page of a run, chosen by the domain `kind` its analysis.json stores."""

from __future__ import annotations

from groklab.report.group_html import render_group
from groklab.report.html import ReportContext, render

PAGES = {"cyclic": render, "group": render_group}  # a new domain: its page here


def render_kind(ctx: ReportContext, plotly_js: str) -> str:
    """The page for the stored kind (analysis.json written before `kind` existed: cyclic)."""
    return PAGES[ctx.analysis.get("kind") or "cyclic"](ctx, plotly_js)  # noqa: one reader of kind
