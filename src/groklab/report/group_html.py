"""The report of a run on a group task (analysis.json with kind "group"): the irrep spectrum,
restricted/excluded loss per irrep, progress over checkpoints, the character program. Rendering
only, like report.html, whose page frame, styles and helpers it shares."""

from __future__ import annotations

import json

from groklab.report import figures
from groklab.report.html import (ReportContext, _fmt, _section, _table, cards, esc, llc_figures,
                                 llc_section, page, plot_all, program_rows, run_section,
                                 training_section)


def _cards(ctx: ReportContext) -> str:
    a, s = ctx.analysis, ctx.summary
    structure = (a.get("structure") or {}).get("structure", "group")
    return cards(ctx, [("group", f"{a['group']} (|G| = {a['p']}, {structure})"),
                       ("algorithm", a.get("algorithm")),
                       ("memorized at", s.get("memorized_epoch")),
                       ("grokked at", s.get("grokked_epoch")),
                       ("key irreps", ", ".join(a["key_irreps"]) or "none"),
                       ("restricted accuracy", _fmt(a.get("restricted_accuracy")))])


def _group_figures(ctx: ReportContext) -> list:
    a = ctx.analysis
    terms = (ctx.program or {}).get("terms")
    phases = a.get("phases")
    figs = [("fig-curves", figures.curves(ctx.rows, phases))]
    if a.get("snapshot"):  # a table that is no group has no irreps to draw
        figs += [("fig-irreps", figures.irrep_spectrum(a)),
                 ("fig-irrep-ablations", figures.irrep_ablations(a))]
    if a.get("progress"):
        figs.append(("fig-progress", figures.group_progress(a["progress"], phases)))
    if a.get("cosets"):
        figs.append(("fig-cosets", figures.coset_concentration(a["cosets"])))
    if terms:
        figs.append(("fig-characters", figures.character_interference(terms)))
    return figs + llc_figures(ctx)


def _irrep_sections(a: dict, divs: dict) -> list[str]:
    if not a.get("snapshot"):
        st = a.get("structure") or {}
        return [_section("What the table is", f"{st.get('structure')} of order {st.get('order')}: "
                         f"{st.get('reason', '')}. The group lens does not apply; the network is "
                         f"{a.get('algorithm')}.", "")]
    keys = a["snapshot"]["keys"]
    return [
        _section("Irrep spectrum", "How much of each weight matrix and of the logits lives in each "
                 "irreducible representation (isotypic fractions; the logits' share is of their "
                 f"part that is a function of a·b). Rule: {a['key_irrep_rule']}.",
                 divs["fig-irreps"]
                 + _table(["irrep", "dim", "key", "embed", "unembed", "logit share", "neurons"],
                          [[r["irrep"], r["dim"], "yes" if r["key"] else "",
                            _fmt(r["embed_fraction"], 3), _fmt(r["unembed_fraction"], 3),
                            _fmt(r["logit_share"], 3), r["neurons"]]
                           for r in a["snapshot"]["per_irrep"]])),
        _section("Ablations per irrep", f"Key irreps {a['key_irreps']}: restricted loss "
                 f"{_fmt(a['restricted_loss'])} (accuracy {_fmt(a['restricted_accuracy'])}), "
                 f"excluded loss on train {_fmt(a['excluded_loss'])} vs {_fmt(a['train_loss'])} "
                 f"for the full model; necessary: {keys['necessary']}.",
                 divs["fig-irrep-ablations"]),
    ]


def _coset_section(a: dict, divs: dict) -> list[str]:
    """Stander et al.'s coset account beside the irreps: concentration, the dictionary and both
    programs' evidence on the same network."""
    c = a.get("cosets")
    if not c:
        return []
    pct = lambda x: "-" if x is None else f"{x:.1%}"  # noqa: E731
    lead = (f"{pct(c['fraction_concentrated'])} of the {c['parts']} operand parts (each neuron's "
            f"pre-activation as a function of a, and of b) are constant on the cosets of one "
            f"subgroup up to less than their total variance (min C < 1; random functions give "
            f"{c['null_min_c']:.2f}), {pct(c['fraction_below_0_01'])} below 0.01. A function "
            f"constant on the cosets of H lies in the permutation module Ind_H 1: the dictionary "
            f"lists its irreps; {pct(c['dictionary_agreement'])} of the concentrated parts read "
            f"an irrep of their subgroup's module. Rule: {c['rule']}.")
    dictionary = _table(["subgroup", "order", "index", "parts", "irreps of Ind_H 1"],
                        [[d["subgroup"], d["order"], d["index"],
                          c["winning_subgroups"].get(d["subgroup"], 0),
                          ", ".join(f"{k}×{v}" if v > 1 else k for k, v in d["irreps"].items())]
                         for d in c["dictionary"]])
    return [_section("Cosets beside irreps", lead, divs.get("fig-cosets", "") + dictionary
                     + _programs_table(a, c))]


def _programs_table(a: dict, c: dict) -> str:
    """The character and coset programs' evidence against the same network, side by side."""
    progs = [("characters", a.get("program") or {}), ("cosets", c.get("program") or {})]
    ev = lambda p, k: (p.get("evidence") or {}).get(k)  # noqa: E731
    rows = [["terms", ", ".join(a.get("key_irreps") or []) or "-",
             ", ".join(c["program"].get("subgroups") or []) or "-"],
            ["logit FVE", *[_fmt(ev(p, "logit_fve"), 3) for _, p in progs]],
            ["held-out KL", *[_fmt(ev(p, "heldout_kl"), 3) for _, p in progs]],
            ["agreement (held out)", *[f"{_fmt(p.get('agreement'))} ({_fmt(p.get('test_agreement'))})"
                                       for _, p in progs]],
            ["substitution loss", *[_fmt(ev(p, "substitution_loss"), 3) for _, p in progs]],
            ["network without the program's irreps", *[_fmt(p.get("ablated_accuracy"))
                                                       for _, p in progs]]]
    act, abl = c.get("activation"), c.get("ablation")
    note = ""
    if abl:
        note += (f"<p>Ablation in the coset basis: removing each of the {abl['parts']} concentrated "
                 f"parts' component on its subgroup's cosets leaves accuracy "
                 f"{_fmt(abl['coset']['accuracy'])} (loss {_fmt(abl['coset']['loss'], 3)}); removing "
                 f"a random subspace of the same rank from the same parts leaves "
                 f"{_fmt(abl['random']['accuracy'])} (loss {_fmt(abl['random']['loss'], 3)}).</p>")
    if act:
        note += (f"<p>The activation experiment: {esc(act['activation'])} replaced by |x| in every "
                f"neuron gives accuracy {_fmt(act['abs']['accuracy'])} and loss "
                f"{_fmt(act['abs']['loss'], 3)} (the network: {_fmt(act['network']['accuracy'])}, "
                f"{_fmt(act['network']['loss'], 3)}).</p>")
    return ("<p>Both programs against the same network:</p>"
            + _table(["", "character program", "coset program"], rows) + note)


def _character_section(ctx: ReportContext, divs: dict) -> list[str]:
    """The character program (program.json), with its terms for one held-out pair."""
    if not ctx.program:
        return []
    v = ctx.program["verification"]
    if "program_accuracy" not in ctx.analysis.get("program", {}):  # a table that is no group
        return [_section("The program", f"Algorithm {v['algorithm']} ({v['algorithm_rule']}); "
                         f"verdict {v['verdict']}.", f"<pre>{esc(_short(ctx.program_source or ''))}</pre>")]
    cosets = ctx.program.get("program_kind") == "cosets"
    title, formula = (("The coset program", "logit(c) = Σ_H β_H χ_H(a·b·c⁻¹), χ_H counting the "
                       f"cosets of H fixed, over {ctx.program.get('subgroups')}. ") if cosets else
                      ("The character program", "logit(c) = Σ_ρ α_ρ χ_ρ(a·b·c⁻¹) over the key irreps. "))
    return [_section(
        title, formula
        + f"Algorithm {v['algorithm']} ({v['algorithm_rule']}); verdict {v['verdict']} "
        f"({v['rule']}).",
        divs.get("fig-characters", "")
        + program_rows(ctx, [
            ["program accuracy, all pairs", _fmt(v["program_accuracy"])],
            ["program accuracy, held out", _fmt(v["program_test_accuracy"])],
            ["agreement with the network (held out)",
             f"{_fmt(v['agreement'])} ({_fmt(v['test_agreement'])})"],
            ["train cross-entropy: program / network",
             f"{_fmt(v['program_train_loss'])} / {_fmt(v['network_train_loss'])}"],
            ["network accuracy without the program's irreps", _fmt(v["ablated_accuracy"])],
            ["program accuracy without each irrep", json.dumps(v["necessity"])],
            ["constants vs lookup entries", f"{v['n_constants']} vs {v['lookup_entries']}"],
        ]) + f"<pre>{esc(_short(ctx.program_source or ''))}</pre>")]


def render_group(ctx: ReportContext, plotly_js: str) -> str:
    """The report of a run on a group task as one HTML string; the character program's terms for
    one held-out pair come from program.json (`terms`, written by extract)."""
    a = ctx.analysis
    divs, scripts = plot_all(_group_figures(ctx))
    sections = [training_section(ctx, divs), *_irrep_sections(a, divs)]
    if "fig-progress" in divs:
        more = (" The coset account at every checkpoint: the share of operand parts with min C < 1 "
                "and their median min C (random functions: about 2)." if a.get("cosets") else "")
        sections.append(_section("Progress measures", "The final key irreps measured at every "
                                 f"checkpoint; lead: {a.get('lead')}.{more}", divs["fig-progress"]))
    sections += _coset_section(a, divs)
    sections += llc_section(ctx, divs, "the key irreps' restricted and excluded losses")
    sections += [*_character_section(ctx, divs), run_section(ctx)]
    return page(ctx, plotly_js, f"composition in {a['group']}", _cards(ctx), sections, scripts)


def _short(source: str, most: int = 160) -> str:
    """The program's source with its long data lines elided (the file itself has them)."""
    lines = [line if len(line) <= most else line[:most] + " …" for line in source.splitlines()]
    return "\n".join(lines)
