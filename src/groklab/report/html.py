"""The self-contained HTML report: plotly.js inlined once, every figure and table inline, every
user-provided string escaped. Rendering only: it receives dicts and returns a string."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass

from groklab.report import figures

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:0;background:#f6f7f9;color:#1f2933}
header{background:#1f2933;color:#fff;padding:24px 40px}
header h1{margin:0 0 6px;font-size:26px} header p{margin:0;color:#cbd2d9}
main{max-width:1200px;margin:0 auto;padding:20px 30px 60px}
section{background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.08);margin:18px 0;padding:18px 22px}
section h2{margin:0 0 6px;font-size:19px} section p.lead{margin:0 0 10px;color:#52606d}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-top:16px}
.card{background:#323f4b;border-radius:8px;padding:10px 16px;min-width:130px}
.card b{display:block;font-size:20px;color:#fff} .card span{font-size:12px;color:#9aa5b1}
.verdict-algorithmic{color:#3ebd93!important} .verdict-memorizing{color:#f0b429!important}
.verdict-partial{color:#f0b429!important}
table{border-collapse:collapse;width:100%;font-size:14px} th,td{padding:5px 10px;text-align:right;border-bottom:1px solid #e4e7eb}
th:first-child,td:first-child,th:nth-child(2),td:nth-child(2){text-align:left} th{background:#f5f7fa}
pre{background:#1f2933;color:#e4e7eb;padding:14px;border-radius:8px;overflow:auto;font-size:12.5px}
.plot{width:100%;min-height:200px} .controls{margin:6px 0 4px} .controls input{width:70px;margin:0 8px 0 4px}
.note{color:#8a4b08;background:#fffbea;padding:6px 10px;border-radius:6px;margin:4px 0}
"""

INTERFERENCE_JS = """
(function(){
  const d = JSON.parse(document.getElementById('wave-data').textContent);
  const coord = {}; d.tokens.forEach((t, i) => coord[t] = i);
  function draw(){
    const a = parseInt(document.getElementById('wave-a').value), b = parseInt(document.getElementById('wave-b').value);
    if (!(a in coord) || !(b in coord)) { document.getElementById('wave-msg').textContent = 'a and b must be tokens with a coordinate (' + d.tokens.length + ' of 0..' + (d.p - 1) + ')'; return; }
    document.getElementById('wave-msg').textContent = '';
    const x = coord[a] + d.sign * coord[b];
    const traces = []; const total = new Array(d.n).fill(0);
    d.freqs.forEach((k, j) => {
      const y = [];
      for (let c = 0; c < d.n; c++) { const v = d.alpha[j] * Math.cos(2 * Math.PI * k * (x - c) / d.n); y.push(v); total[c] += v; }
      traces.push({x: d.classes, y: y, name: 'k=' + k, mode: 'lines', line: {width: 1}});
    });
    traces.push({x: d.classes, y: total, name: 'sum', mode: 'lines', line: {width: 3, color: 'black'}});
    let best = 0; total.forEach((v, i) => { if (v > total[best]) best = i; });
    const layout = JSON.parse(JSON.stringify(document.getElementById('fig-interference').layout));
    layout.title = {text: 'Interference for a=' + a + ', b=' + b + ': the waves agree only at c=' + d.classes[best]};
    Plotly.react('fig-interference', traces, layout);
  }
  document.getElementById('wave-a').addEventListener('change', draw);
  document.getElementById('wave-b').addEventListener('change', draw);
})();
"""


BOOT = ("document.querySelectorAll('.plot').forEach(function(el){"
        "const f = JSON.parse(document.getElementById(el.id + '-json').textContent);"
        "Plotly.newPlot(el, f.data, f.layout, {responsive: true, displaylogo: false});});")


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def _json_script(id_: str, payload: str) -> str:
    safe = payload.replace("</", "<\\/")  # no "</script>" can end the block early
    return f'<script type="application/json" id="{esc(id_)}">{safe}</script>'


@dataclass
class ReportContext:
    """What a report shows; every field comes from the run directory."""

    name: str
    config: dict
    summary: dict
    rows: list[dict]
    analysis: dict
    program: dict | None
    program_source: str | None
    llc: dict | None = None


def _cards(ctx: ReportContext) -> str:
    a, s = ctx.analysis, ctx.summary
    return cards(ctx, [("task", f"{a['task']} mod {a['p']}"), ("algorithm", a.get("algorithm")),
                       ("memorized at", s.get("memorized_epoch")),
                       ("grokked at", s.get("grokked_epoch")),
                       ("key frequencies", a["key_frequencies"]),
                       ("neurons explained", f"{a['neuron_fraction_explained']:.0%}"),
                       ("logit FVE", f"{a['logit_fve']:.3f}")])


def cards(ctx: ReportContext, items: list[tuple[str, object]]) -> str:
    """The headline cards of any page: (label, value) items, then the program's verdict."""
    out = [f'<div class="card"><b>{esc(v)}</b><span>{esc(k)}</span></div>' for k, v in items]
    if ctx.program:
        verdict = ctx.program["verdict"]
        out.append(f'<div class="card"><b class="verdict-{esc(verdict)}">{esc(verdict)}</b>'
                   '<span>program verdict</span></div>')
    return '<div class="cards">' + "".join(out) + "</div>"


def _table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(x, digits: int = 4) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}g}"
    return str(x)


def _section(title: str, lead: str, body: str) -> str:
    return f"<section><h2>{esc(title)}</h2><p class='lead'>{esc(lead)}</p>{body}</section>"


def _plot(fig_id: str, fig) -> tuple[str, str]:
    return f'<div class="plot" id="{fig_id}"></div>', _json_script(f"{fig_id}-json", fig.to_json())


def plot_all(figs: list) -> tuple[dict[str, str], list[str]]:
    """Every (id, figure) as its div (by id) and its script."""
    divs, scripts = {}, []
    for fig_id, fig in figs:
        div, script = _plot(fig_id, fig)
        divs[fig_id] = div
        scripts.append(script)
    return divs, scripts


def llc_figures(ctx: ReportContext) -> list:
    """The LLC panels of any page, when llc.json exists."""
    a, figs = ctx.analysis, []
    if ctx.llc and ctx.llc.get("estimates"):
        figs.append(("fig-llc", figures.llc(ctx.llc, a.get("progress"), a.get("phases"))))
    if ctx.llc and ctx.llc.get("calibration"):
        figs.append(("fig-llc-calibration", figures.llc_calibration(ctx.llc["calibration"])))
    return figs


def training_section(ctx: ReportContext, divs: dict, note: str = "") -> str:
    ph = ctx.analysis.get("phases") or {}
    return _section("Training", f"Memorization ends at epoch {ph.get('memorization_end')}, circuit "
                    f"formation at {ph.get('circuit_formation_end')}, cleanup at "
                    f"{ph.get('cleanup_end')} (shaded{note}).", divs["fig-curves"])


def llc_section(ctx: ReportContext, divs: dict, beside: str) -> list[str]:
    """The LLC section of any page (none without llc.json)."""
    if "fig-llc" not in divs and "fig-llc-calibration" not in divs:
        return []
    st = (ctx.llc or {}).get("settings") or {}
    return [_section(
        "Local learning coefficient", f"SGLD estimates (ε {st.get('epsilon')}, nβ "
        f"{_fmt(st.get('nbeta'), 4)}, γ {st.get('gamma')}, {st.get('chains')} chains × "
        f"{st.get('draws')} draws, {st.get('burn_in')} burn-in) beside {beside}. "
        f"Rule: {(ctx.llc or {}).get('rule', '')}.",
        divs.get("fig-llc", "") + divs.get("fig-llc-calibration", ""))]


def evidence_rows(ctx: ReportContext) -> list[list]:
    """What the program shares with the network (analysis.evidence), as table rows."""
    ev = (ctx.program.get("verification") or {}).get("evidence") or {}
    if not ev:
        return []
    return [["evidence: logit FVE (share of the network's logit variance)", _fmt(ev.get("logit_fve"), 3)],
            ["evidence: held-out KL (nats)", _fmt(ev.get("heldout_kl"))],
            ["evidence: agreement on the network's errors", _fmt(ev.get("agreement_on_network_errors"))],
            ["evidence: loss with the program substituted / the network's",
             f"{_fmt(ev.get('substitution_loss'))} / {_fmt(ev.get('network_loss'))}"],
            ["explains the network", f"{'yes' if ev.get('explains') else 'no'} "
                                     f"({ev.get('explain_rule', '')})"]]


def program_rows(ctx: ReportContext, rows: list[list]) -> str:
    """The extracted program's checks and evidence, then its curve's two epochs, as a table."""
    return _table(["check", "value"], rows + evidence_rows(ctx) + [
        ["first epoch the program explains the network",
         _fmt(ctx.program.get("first_correct_epoch"))],
        ["network grokked at", _fmt(ctx.program.get("grokked_epoch"))]])


def _cyclic_figures(ctx: ReportContext) -> list:
    a = ctx.analysis
    phases = a.get("phases")
    figs = [("fig-curves", figures.curves(ctx.rows, phases))]
    if a.get("progress"):
        figs.append(("fig-progress", figures.progress(a["progress"], phases,
                                                      (ctx.program or {}).get("curve"))))
        figs.append(("fig-diagnostics", figures.diagnostics(a["progress"], phases)))
    figs += llc_figures(ctx)
    return figs + [("fig-families", figures.families(a)),
                   ("fig-correct", figures.correct_logits(a)),
                   ("fig-spectrum", figures.spectrum(a)), ("fig-circles", figures.circles(a)),
                   ("fig-neurons", figures.neurons(a)),
                   ("fig-interference", figures.interference(a))] \
        + ([("fig-layers", figures.layers(a))] if a.get("layers") else [])


def _which_program(a: dict, divs: dict) -> str:
    fam = a.get("families") or {}
    cmp = a.get("family_comparison") or {}
    return _section(
        "Which program?", f"The network runs: {a.get('algorithm')}. Coordinates read from the "
        f"weights: input map {a['input_map'].get('kind')}, output map "
        f"{a['output_map'].get('kind')}, x = f(a) {'+' if a.get('sign', 1) > 0 else '−'} f(b) mod "
        f"{a['group_order']}. Distance dependence {_fmt(cmp.get('distance_dependence'), 3)}, "
        f"gradient symmetricity {_fmt(a.get('gradient_symmetricity'), 3)}, distance irrelevance "
        f"{_fmt(a.get('distance_irrelevance'), 3)}. Rule: {cmp.get('rule', '')}.",
        divs["fig-families"]
        + _table(["family", "logit FVE", "held-out KL", "accuracy", "held-out agreement",
                  "constants"],
                 [[n, _fmt(f["logit_fve"]), _fmt(f["heldout_kl"]), _fmt(f["accuracy"]),
                   _fmt(f["agreement"]), f["description_length"]] for n, f in fam.items()])
        + divs["fig-correct"] + divs.get("fig-diagnostics", ""))


def _interference_section(a: dict, divs: dict) -> str:
    inter = a["interference"]
    wave_data = json.dumps({"freqs": a["logit_fit"]["freqs"], "alpha": a["logit_fit"]["alpha"],
                            "classes": inter["classes"], "tokens": inter["tokens"],
                            "n": a["group_order"], "p": a["p"], "sign": inter["sign"]})
    return _section(
        "Interference", "logit(c) = Σ_k α_k cos(w_k(x−c)), x = f(a) ± f(b) in the discovered "
        "coordinates: the waves line up only at the answer.",
        '<div class="controls">a<input id="wave-a" type="number" value="'
        f'{esc(inter["a"])}">b<input id="wave-b" type="number" value="{esc(inter["b"])}">'
        '<span id="wave-msg"></span></div>' + divs["fig-interference"]
        + _json_script("wave-data", wave_data))


def _detail_sections(a: dict, divs: dict) -> list[str]:
    return [
        _section("Key frequencies", f"Views: embed {a['keys']['views']['embed']}, neurons "
                 f"{a['keys']['views']['neurons']}, unembed {a['keys']['views']['unembed']}. "
                 f"Rule: {a['key_frequency_rule']}.", divs["fig-spectrum"]),
        _section("Circles", "The tokens projected on each key frequency's plane; drag the slider to "
                 "watch the circle form from noise.", divs["fig-circles"]),
        _section("Neurons", "Each neuron's activation over all pairs, in Fourier terms.",
                 divs["fig-neurons"]),
        _interference_section(a, divs),
        *_layers_section(a, divs),
        _section("Ablations", "Loss and accuracy after each ablation, on every pair of the grid.",
                 _table(["ablation", "what", "loss", "accuracy", "test loss", "test accuracy"],
                        [[r["name"], r["description"], _fmt(r["loss"]), _fmt(r["acc"]),
                          _fmt(r["test_loss"]), _fmt(r["test_acc"])] for r in a["ablations"]])),
    ]


def _layers_section(a: dict, divs: dict) -> list[str]:
    """One row per transformer layer: where the key frequencies live and what each block does."""
    layers = a.get("layers") or []
    side = a.get("input_side") or {}
    if not layers:
        return []

    def top(shares: dict) -> str:
        return ", ".join(f"{k} ({_fmt(v, 2)})" for k, v in list(shares.items())[:3])

    return [_section(
        "Layer by layer", f"For each block: the share of the residual stream's and the neurons' "
        f"variance in the key frequencies {a.get('key_frequencies')}, the frequencies holding most, "
        "the neuron clusters, the accuracy with the block's attention or MLP output "
        "mean-ablated, and the loss with the block's output kept only in the key frequencies "
        "(restricted) or without them (excluded, training pairs). The inputs meet as a "
        f"{side.get('side')} (logit FVE {_fmt(side.get('fve'), 3)} with both token embeddings "
        "replaced by their mean).",
        divs.get("fig-layers", "") + _table(["layer", "residual: key share", "residual: top frequencies", "neurons: key share",
                "neurons: top frequencies", "clusters", "acc. without attention",
                "acc. without MLP", "restricted loss", "excluded loss"],
               [[v["layer"], _fmt(v["resid_key_share"], 3), top(v["resid_top"]),
                 _fmt(v["neuron_key_share"], 3), top(v["neuron_top"]),
                 str(v["neuron_clusters"]), _fmt(v["accuracy_without_attn"], 3),
                 _fmt(v["accuracy_without_mlp"], 3), _fmt(v.get("restricted_loss"), 3),
                 _fmt(v.get("excluded_train_loss"), 3)] for v in layers]))]


def _program_section(ctx: ReportContext) -> list[str]:
    if not ctx.program:
        return []
    v = ctx.program["verification"]
    return [_section("The extracted program", f"Verdict: {v['verdict']} ({v['rule']}).",
                     program_rows(ctx, [
                         ["program accuracy, all pairs", _fmt(v["program_accuracy"])],
                         ["program accuracy, held out", _fmt(v["program_test_accuracy"])],
                         ["agreement with the network", _fmt(v["agreement"])],
                         ["train cross-entropy: program / network",
                          f"{_fmt(v['program_train_loss'])} / {_fmt(v['network_train_loss'])}"],
                         ["network accuracy without the program's frequencies",
                          _fmt(v["ablated_accuracy"])],
                         ["constants vs lookup entries",
                          f"{v['n_constants']} vs {v['lookup_entries']}"],
                     ]) + f"<pre>{esc(ctx.program_source or '')}</pre>")]


def render(ctx: ReportContext, plotly_js: str) -> str:
    """The report of a run on a Z_N task as one HTML string."""
    a = ctx.analysis
    divs, scripts = plot_all(_cyclic_figures(ctx))
    sections = [training_section(ctx, divs, "; rule in analysis.json")]
    if "fig-progress" in divs:
        sections.append(_section(
            "Progress measures", "Structure in the weights moves with held-out performance: "
            f"Spearman(restricted loss, test loss) = {_fmt(a.get('structure_test_loss_spearman'), 3)} "
            "from the end of memorization.", divs["fig-progress"]))
    sections += llc_section(ctx, divs, "the restricted and excluded losses")
    sections += [_which_program(a, divs), *_detail_sections(a, divs), *_program_section(ctx),
                 run_section(ctx)]
    return page(ctx, plotly_js, f"{a['task']} mod {a['p']}", _cards(ctx), sections, scripts,
                INTERFERENCE_JS)


def run_section(ctx: ReportContext) -> str:
    """The run's notes, config.json and summary.json, escaped."""
    notes = "".join(f'<p class="note">{esc(n)}</p>' for n in ctx.analysis.get("notes", []))
    return _section("Run", "config.json and summary.json", notes
                    + f"<pre>{esc(json.dumps(ctx.config, indent=2))}</pre>"
                    + f"<pre>{esc(json.dumps(ctx.summary, indent=2))}</pre>")


def page(ctx: ReportContext, plotly_js: str, title: str, cards: str, sections: list[str],
         scripts: list[str], extra_js: str = "") -> str:
    """The whole page: plotly.js inlined once, the header (title escaped here), the sections, the
    figure data and the boot script."""
    extra = f"<script>{extra_js}</script>" if extra_js else ""
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>groklab report: {esc(ctx.name)}</title><style>{CSS}</style>"
        f"<script>{plotly_js}</script></head><body>"
        f"<header><h1>groklab: {esc(title)}</h1>"
        f"<p>{esc(ctx.name)}</p>{cards}</header><main>{''.join(sections)}</main>"
        f"{''.join(scripts)}<script>{BOOT}</script>{extra}</body></html>\n")
