"""The report of a run on a group task (analysis.json with kind "group"): the irrep spectrum,
restricted/excluded loss per irrep, progress over checkpoints, the character program. Rendering
only, like report.html, whose page frame, styles and helpers it shares."""

from __future__ import annotations

import json

from groklab.report import figures
from groklab.report.html import (ReportContext, _fmt, _plot, _section, _table, esc, page,
                                 run_section)


def _cards(ctx: ReportContext) -> str:
    a, s = ctx.analysis, ctx.summary
    items = [("group", f"{a['group']} (|G| = {a['p']})"), ("algorithm", a.get("algorithm")),
             ("memorized at", s.get("memorized_epoch")), ("grokked at", s.get("grokked_epoch")),
             ("key irreps", ", ".join(a["key_irreps"]) or "none"),
             ("restricted accuracy", f"{a['restricted_accuracy']:.2%}")]
    out = [f'<div class="card"><b>{esc(v)}</b><span>{esc(k)}</span></div>' for k, v in items]
    if ctx.program:
        verdict = ctx.program["verdict"]
        out.append(f'<div class="card"><b class="verdict-{esc(verdict)}">{esc(verdict)}</b>'
                   '<span>program verdict</span></div>')
    return '<div class="cards">' + "".join(out) + "</div>"


def render_group(ctx: ReportContext, plotly_js: str) -> str:
    """The report as one HTML string; the character program's terms for one held-out pair come
    from program.json (`terms`, written by extract)."""
    a = ctx.analysis
    terms = (ctx.program or {}).get("terms")
    phases = a.get("phases")
    figs = [("fig-curves", figures.curves(ctx.rows, phases)),
            ("fig-irreps", figures.irrep_spectrum(a)),
            ("fig-irrep-ablations", figures.irrep_ablations(a))]
    if a.get("progress"):
        figs.append(("fig-progress", figures.group_progress(a["progress"], phases)))
    if terms:
        figs.append(("fig-characters", figures.character_interference(terms)))
    if ctx.llc and ctx.llc.get("estimates"):
        figs.append(("fig-llc", figures.llc(ctx.llc, a.get("progress"), phases)))
    divs, scripts = {}, []
    for fig_id, fig in figs:
        div, script = _plot(fig_id, fig)
        divs[fig_id] = div
        scripts.append(script)
    ph = phases or {}
    keys = a["snapshot"]["keys"]
    sections = [
        _section("Training", f"Memorization ends at epoch {ph.get('memorization_end')}, circuit "
                 f"formation at {ph.get('circuit_formation_end')}, cleanup at "
                 f"{ph.get('cleanup_end')} (shaded).", divs["fig-curves"]),
        _section("Irrep spectrum", "How much of each weight matrix and of the logits lives in each "
                 "irreducible representation (isotypic fractions; the logits' share is of their "
                 f"part that is a function of a·b). Rule: {a['key_irrep_rule']}.",
                 divs["fig-irreps"]
                 + _table(["irrep", "dim", "key", "embed", "unembed", "logit share", "neurons"],
                          [[r["irrep"], r["dim"], "yes" if r["key"] else "", _fmt(r["embed_fraction"], 3),
                            _fmt(r["unembed_fraction"], 3), _fmt(r["logit_share"], 3), r["neurons"]]
                           for r in a["snapshot"]["per_irrep"]])),
        _section("Ablations per irrep", f"Key irreps {a['key_irreps']}: restricted loss "
                 f"{_fmt(a['restricted_loss'])} (accuracy {_fmt(a['restricted_accuracy'])}), "
                 f"excluded loss on train {_fmt(a['excluded_loss'])} vs {_fmt(a['train_loss'])} "
                 f"for the full model; necessary: {keys['necessary']}.",
                 divs["fig-irrep-ablations"]),
    ]
    if "fig-progress" in divs:
        sections.append(_section("Progress measures", "The final key irreps measured at every "
                                 f"checkpoint; lead: {a.get('lead')}.", divs["fig-progress"]))
    if "fig-llc" in divs:
        st = ctx.llc.get("settings") or {}
        sections.append(_section(
            "Local learning coefficient", f"SGLD estimates (ε {st.get('epsilon')}, nβ "
            f"{_fmt(st.get('nbeta'), 4)}, γ {st.get('gamma')}, {st.get('chains')} chains × "
            f"{st.get('draws')} draws) beside the key irreps' restricted and excluded losses.",
            divs["fig-llc"]))
    if ctx.program:
        v = ctx.program["verification"]
        sections.append(_section(
            "The character program", f"logit(c) = Σ_ρ α_ρ χ_ρ(a·b·c⁻¹) over the key irreps. "
            f"Algorithm {v['algorithm']} ({v['algorithm_rule']}); verdict {v['verdict']} "
            f"({v['rule']}).",
            divs.get("fig-characters", "")
            + _table(["check", "value"], [
                ["program accuracy, all pairs", _fmt(v["program_accuracy"])],
                ["program accuracy, held out", _fmt(v["program_test_accuracy"])],
                ["agreement with the network (held out)",
                 f"{_fmt(v['agreement'])} ({_fmt(v['test_agreement'])})"],
                ["train cross-entropy: program / network",
                 f"{_fmt(v['program_train_loss'])} / {_fmt(v['network_train_loss'])}"],
                ["network accuracy without the key irreps", _fmt(v["ablated_accuracy"])],
                ["program accuracy without each irrep", json.dumps(v["necessity"])],
                ["constants vs lookup entries", f"{v['n_constants']} vs {v['lookup_entries']}"],
                ["first epoch the program is right on all pairs",
                 _fmt(ctx.program.get("first_correct_epoch"))],
                ["network grokked at", _fmt(ctx.program.get("grokked_epoch"))],
            ]) + f"<pre>{esc(_short(ctx.program_source or ''))}</pre>"))
    sections.append(run_section(ctx))
    return page(ctx, plotly_js, f"composition in {a['group']}", _cards(ctx), sections, scripts)


def _short(source: str, most: int = 160) -> str:
    """The program's source with its long data lines elided (the file itself has them)."""
    lines = [line if len(line) <= most else line[:most] + " …" for line in source.splitlines()]
    return "\n".join(lines)
