"""Plotly figures of a run, built from its stored results (metrics rows, analysis.json and
program.json as dicts). For notebooks and for the HTML report; no torch and no analysis here.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

PHASE_COLORS = {"memorization": "rgba(239,85,59,0.10)", "circuit formation": "rgba(99,110,250,0.10)",
                "cleanup": "rgba(0,204,150,0.12)"}
KEY_COLOR, OTHER_COLOR = "#EF553B", "#9aa5b1"
LAYOUT = dict(template="plotly_white", margin=dict(l=60, r=20, t=50, b=45), height=380,
              font=dict(family="system-ui, -apple-system, Segoe UI, sans-serif", size=13))


def _x(epochs):
    """Epochs for a log axis: epoch 0 is drawn at 0.5."""
    return [max(e, 0.5) for e in epochs]


def _shade_phases(fig: go.Figure, phases: dict | None, rows: int = 1, cols: int = 1) -> None:
    """Shade memorization, circuit formation and cleanup on every subplot."""
    if not phases or phases.get("memorization_end") is None:
        return
    bounds = [0.5, phases["memorization_end"], phases.get("circuit_formation_end"),
              phases.get("cleanup_end")]
    for color, lo, hi in zip(PHASE_COLORS.values(), bounds, bounds[1:]):
        if lo is None or hi is None or hi <= lo:
            continue
        for r in range(1, rows + 1):
            for c in range(1, cols + 1):
                fig.add_vrect(x0=max(lo, 0.5), x1=hi, fillcolor=color, line_width=0, layer="below",
                              row=r, col=c)
                fig.add_vline(x=hi, line=dict(color="#888", width=1, dash="dot"), row=r, col=c)


def _floor(values, low: float = 1e-12) -> list[float]:
    """Losses for a log axis: exact zeros (a perfect fit) drawn at `low`."""
    return [max(v, low) for v in values]


def curves(rows: list[dict], phases: dict | None = None) -> go.Figure:
    """Train/test loss and accuracy on a log epoch axis, the detected phases shaded."""
    epochs = _x([r["epoch"] for r in rows])
    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss", "accuracy"), horizontal_spacing=0.1)
    for split, color in (("train", "#636EFA"), ("test", "#EF553B")):
        fig.add_trace(go.Scatter(x=epochs, y=_floor([r[f"loss/{split}"] for r in rows]), name=split,
                                 line=dict(color=color), legendgroup=split), 1, 1)
        fig.add_trace(go.Scatter(x=epochs, y=[r[f"acc/{split}"] for r in rows], name=f"{split}",
                                 line=dict(color=color), legendgroup=split, showlegend=False), 1, 2)
    fig.update_xaxes(type="log", title_text="epoch")
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_yaxes(range=[0, 1.02], row=1, col=2)
    _shade_phases(fig, phases, cols=2)
    fig.update_layout(**LAYOUT)
    return fig


def progress(points: list[dict], phases: dict | None = None, curve: list[dict] | None = None
             ) -> go.Figure:
    """The progress measures over every checkpoint, aligned on one log epoch axis."""
    panels = ["restricted / excluded / test loss", "Gini of Fourier norms", "sum of squared weights",
              "key frequencies", "program vs network"]
    fig = make_subplots(rows=len(panels), cols=1, shared_xaxes=True, subplot_titles=panels,
                        vertical_spacing=0.045)
    x = _x([p["epoch"] for p in points])
    series = [
        (1, "restricted loss", "restricted_loss", "#00CC96"),
        (1, "excluded loss (train)", "excluded_loss", "#AB63FA"),
        (1, "test loss", "loss_test", "#EF553B"),
        (1, "train loss", "loss_train", "#636EFA"),
        (2, "Gini W_E", "gini_embed", "#FFA15A"),
        (2, "Gini W_L", "gini_unembed", "#19D3F3"),
        (3, "weight norm²", "weight_norm", "#FF6692"),
    ]
    for row, name, key, color in series:
        values = [p[key] for p in points]
        fig.add_trace(go.Scatter(x=x, y=_floor(values) if row == 1 else values, name=name,
                                 line=dict(color=color)), row, 1)
    fig.add_trace(go.Scatter(x=x, y=[len(p["key_freqs"]) for p in points], name="# key frequencies",
                             line=dict(color="#B6E880", shape="hv")), 4, 1)
    if curve:
        cx = _x([p["epoch"] for p in curve])
        fig.add_trace(go.Scatter(x=cx, y=[p["program_test_accuracy"] for p in curve],
                                 name="program held-out acc", line=dict(color="#00CC96")), 5, 1)
        fig.add_trace(go.Scatter(x=cx, y=[p["agreement"] for p in curve],
                                 name="program = network", line=dict(color="#636EFA", dash="dash")),
                      5, 1)
        fig.add_trace(go.Scatter(x=cx, y=[p["network_test_accuracy"] for p in curve],
                                 name="network held-out acc", line=dict(color="#EF553B")), 5, 1)
    fig.update_xaxes(type="log")
    fig.update_xaxes(title_text="epoch", row=len(panels), col=1)
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_yaxes(type="log", row=3, col=1)
    _shade_phases(fig, phases, rows=len(panels))
    fig.update_layout(**{**LAYOUT, "height": 1050})
    return fig


def spectrum(analysis: dict) -> go.Figure:
    """Fourier norms of W_E and W_L per frequency, the key frequencies marked."""
    keys = set(analysis["key_frequencies"])
    fig = make_subplots(rows=1, cols=2, subplot_titles=("embedding W_E", "neurons → logits W_L"))
    for col, key in ((1, "embed_norms"), (2, "unembed_norms")):
        norms = analysis[key]
        ks = list(range(1, len(norms) + 1))
        fig.add_trace(go.Bar(x=ks, y=norms, showlegend=False,
                             marker_color=[KEY_COLOR if k in keys else OTHER_COLOR for k in ks],
                             hovertemplate="k=%{x}<br>norm %{y:.3g}<extra></extra>"), 1, col)
    fig.update_xaxes(title_text="frequency k")
    fig.update_layout(**LAYOUT, title=f"Key frequencies {sorted(keys)} in red")
    return fig


def circles(analysis: dict) -> go.Figure:
    """Each key frequency's embedding plane; a slider steps through checkpoints."""
    frames = analysis.get("circle_frames") or [{"epoch": analysis["source"].get("checkpoint"),
                                                 "circles": analysis["circles"]}]
    freqs = [c["freq"] for c in frames[-1]["circles"]]
    if not freqs:
        return _empty("no key frequencies: no circles to draw")
    cols = min(len(freqs), 4)
    rows = math.ceil(len(freqs) / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[f"k = {k}" for k in freqs])
    last = frames[-1]
    n = len(last["circles"][0]["x"])
    orders = [sorted(range(n), key=lambda a, k=k: (k * a) % n) for k in freqs]  # angle order

    def ordered(values, i):
        return [values[a] for a in orders[i]]

    for i, circ in enumerate(last["circles"]):
        fig.add_trace(go.Scatter(x=ordered(circ["x"], i), y=ordered(circ["y"], i),
                                 mode="markers+lines", showlegend=False,
                                 text=ordered([str(t) for t in circ["tokens"]], i),
                                 marker=dict(size=6, color=ordered(list(range(n)), i),
                                             colorscale="Turbo", showscale=i == 0,
                                             colorbar=dict(title="token", len=0.6)),
                                 line=dict(width=0.5, color="#ccc"),
                                 hovertemplate="token %{text}<extra></extra>"),
                      i // cols + 1, i % cols + 1)
    steps = []
    for frame in frames:
        steps.append(dict(method="restyle", label=str(frame["epoch"]), args=[{
            "x": [ordered(c["x"], i) for i, c in enumerate(frame["circles"])],
            "y": [ordered(c["y"], i) for i, c in enumerate(frame["circles"])]}]))
    fig.update_layout(sliders=[dict(active=len(frames) - 1, steps=steps, pad=dict(t=40),
                                    currentvalue=dict(prefix="checkpoint epoch "))])
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False, scaleanchor="x")
    for i in range(len(freqs)):
        axis = "" if i == 0 else str(i + 1)
        fig.layout[f"yaxis{axis}"].scaleanchor = f"x{axis}"
    circ = ", ".join(f"k={c['freq']}: {c['circularity']:.2f}" for c in last["circles"])
    fig.update_layout(**{**LAYOUT, "height": 330 * rows + 120},
                      title=f"Circular embeddings (circularity {circ})")
    return fig


def neurons(analysis: dict) -> go.Figure:
    """Neuron cluster sizes per frequency, and the histogram of each neuron's best FVE."""
    n = analysis["neurons"]
    fig = make_subplots(rows=1, cols=2, subplot_titles=(
        f"cluster sizes ({analysis['neuron_fraction_explained']:.0%} of neurons explained)",
        "best FVE per neuron"))
    clusters = n["clusters"]
    fig.add_trace(go.Bar(x=[f"k={k}" for k in clusters], y=list(clusters.values()),
                         marker_color=KEY_COLOR, showlegend=False), 1, 1)
    fig.add_trace(go.Histogram(x=n["best_fve"], nbinsx=40, marker_color="#636EFA", showlegend=False),
                  1, 2)
    fig.add_vline(x=0.85, line_dash="dot", line_color="#555", row=1, col=2)
    fig.update_layout(**LAYOUT)
    return fig


def layers(analysis: dict) -> go.Figure:
    """One row of panels per transformer block: the share of the residual stream's variance after
    it, and of its neurons', in each frequency (the key frequencies in red)."""
    rows = analysis.get("layers") or []
    keys = set(analysis["key_frequencies"])
    titles = [t for v in rows for t in (f"layer {v['layer']}: residual stream after the block",
                                        f"layer {v['layer']}: its neurons")]
    fig = make_subplots(rows=max(len(rows), 1), cols=2, subplot_titles=titles or None,
                        vertical_spacing=min(0.12, 0.3 / max(len(rows), 1)))
    for i, v in enumerate(rows, start=1):
        for col, key in ((1, "resid_shares"), (2, "neuron_shares")):
            shares = v.get(key) or []
            ks = list(range(1, len(shares) + 1))
            fig.add_trace(go.Bar(x=ks, y=shares, showlegend=False,
                                 marker_color=[KEY_COLOR if k in keys else OTHER_COLOR for k in ks],
                                 hovertemplate="k=%{x}<br>share %{y:.3f}<extra></extra>"), i, col)
    fig.update_xaxes(title_text="frequency k", row=max(len(rows), 1))
    fig.update_yaxes(range=[0, 1])
    fig.update_layout(**{**LAYOUT, "height": 260 * max(len(rows), 1) + 80},
                      title=f"Where the key frequencies {sorted(keys)} live, layer by layer")
    return fig


def interference(analysis: dict, a: int | None = None, b: int | None = None) -> go.Figure:
    """Each key frequency's wave over the answers c for the pair (a, b), and their sum."""
    inter = analysis["interference"]
    classes = inter["classes"]
    if a is None or b is None:
        waves, total, a, b = inter["waves"], inter["sum"], inter["a"], inter["b"]
    else:
        waves, total = wave_values(analysis, a, b)
    fig = go.Figure()
    for k, w in waves.items():
        fig.add_trace(go.Scatter(x=classes, y=w, name=f"k={k}", mode="lines", line=dict(width=1)))
    fig.add_trace(go.Scatter(x=classes, y=total, name="sum", mode="lines",
                             line=dict(width=3, color="black")))
    best = classes[max(range(len(total)), key=total.__getitem__)] if total else None
    fig.update_layout(**LAYOUT, title=f"Interference for a={a}, b={b}: the waves agree only at "
                                      f"c={best}", xaxis_title="answer c (group order)",
                      yaxis_title="logit contribution")
    return fig


def wave_values(analysis: dict, a: int, b: int) -> tuple[dict, list]:
    """Waves α_k cos(w_k(x − c)) over the classes (group order) for the pair (a, b)."""
    fit, inter = analysis["logit_fit"], analysis["interference"]
    n = analysis["group_order"]
    coord = {t: i for i, t in enumerate(inter["tokens"])}
    x = coord[a] + inter["sign"] * coord[b]
    waves = {str(k): [al * math.cos(2 * math.pi * k * (x - c) / n) for c in range(n)]
             for k, al in zip(fit["freqs"], fit["alpha"])}
    total = [sum(w[c] for w in waves.values()) for c in range(n)]
    return waves, total


def _empty(text: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_layout(**{**LAYOUT, "height": 200})
    return fig


def correct_logits(analysis: dict) -> go.Figure:
    """The correct-answer logit over (x, δ) in the discovered coordinates: a clock's rows are
    flat (it ignores δ = f(a) − s·f(b)); a pizza's vary along δ."""
    m = analysis.get("correct_logits")
    if not m:
        return _empty("no correct-logit matrix in analysis.json")
    fig = go.Figure(go.Heatmap(z=m, colorscale="Viridis", colorbar=dict(title="logit")))
    fig.update_layout(**LAYOUT, title="Correct-answer logit over (x, δ)",
                      xaxis_title="δ = f(a) − s·f(b) (coordinate)",
                      yaxis_title="x = f(a) + s·f(b) (coordinate)")
    return fig


def families(analysis: dict) -> go.Figure:
    """Each program family's logit FVE and held-out agreement with the network, and its
    description length (right axis, log): the comparison that charges for constants, so a family
    that only matches another with more constants does not look better."""
    fam = analysis.get("families") or {}
    names = list(fam)
    fig = go.Figure()
    fig.add_trace(go.Bar(x=names, y=[fam[n]["logit_fve"] for n in names], name="logit FVE",
                         offsetgroup=0))
    fig.add_trace(go.Bar(x=names, y=[fam[n]["agreement"] for n in names],
                         name="held-out agreement", offsetgroup=1))
    mdl = [fam[n].get("mdl") for n in names]
    if any(m is not None for m in mdl):
        fig.add_trace(go.Bar(x=names, y=[None if m is None else max(m, 1e-3) for m in mdl],
                             name="description length (nats, right axis: lower is better)",
                             yaxis="y2", offsetgroup=2))
    fig.update_layout(**LAYOUT, barmode="group", title=f"Program families: the network runs "
                      f"{analysis.get('algorithm', 'unknown')}", yaxis_range=[0, 1.05],
                      yaxis2={"type": "log", "overlaying": "y", "side": "right",
                              "title": "description length (nats)"})
    return fig


def diagnostics(points: list[dict], phases: dict | None = None) -> go.Figure:
    """Gradient symmetricity and distance irrelevance at every checkpoint."""
    fig = go.Figure()
    x = _x([p["epoch"] for p in points])
    for key, name in (("gradient_symmetricity", "gradient symmetricity"),
                      ("distance_irrelevance", "distance irrelevance")):
        fig.add_trace(go.Scatter(x=x, y=[p.get(key) for p in points], name=name, mode="lines"))
    _shade_phases(fig, phases)
    fig.update_layout(**LAYOUT, title="Clock or pizza over training", xaxis_type="log",
                      xaxis_title="epoch (log)", yaxis_range=[-0.1, 1.1])
    return fig


def llc(llc_data: dict, points: list[dict] | None = None, phases: dict | None = None) -> go.Figure:
    """λ̂ per checkpoint (± std over chains; invalid estimates left out) beside the restricted
    and excluded losses, phases shaded."""
    from plotly.subplots import make_subplots

    fig = make_subplots(specs=[[{"secondary_y": True}]])
    est = [e for e in llc_data.get("estimates", []) if e.get("llc") is not None]
    fig.add_trace(go.Scatter(x=_x([e["epoch"] for e in est]), y=[e["llc"] for e in est],
                             error_y=dict(array=[e.get("llc_std") or 0 for e in est]),
                             name="LLC", mode="lines+markers", line=dict(color="#AB63FA")),
                  secondary_y=False)
    if points:
        x = _x([p["epoch"] for p in points])
        for key, name in (("restricted_loss", "restricted loss"),
                          ("excluded_loss", "excluded loss (train)")):
            fig.add_trace(go.Scatter(x=x, y=_floor([p[key] for p in points]), name=name,
                                     mode="lines", line=dict(dash="dot")), secondary_y=True)
    _shade_phases(fig, phases)
    fig.update_layout(**LAYOUT, title="Local learning coefficient over training",
                      xaxis_type="log", xaxis_title="epoch (log)")
    fig.update_yaxes(title_text="LLC", secondary_y=False)
    fig.update_yaxes(title_text="loss", type="log", secondary_y=True)
    return fig


def llc_calibration(calibration: dict) -> go.Figure:
    """The ε × nβ grid: where the estimate is stable (text: the LLC; * valid and stationary)."""
    z = calibration["llc"]
    text = [[("-" if v is None else f"{v:.3g}") + ("*" if ok else "") for v, ok in zip(row, oks)]
            for row, oks in zip(z, calibration["stationary"])]
    fig = go.Figure(go.Heatmap(z=[[v if v is not None else float("nan") for v in row]
                                  for row in z],
                               x=[f"{nb:.3g}" for nb in calibration["nbetas"]],
                               y=[f"{e:.0e}" for e in calibration["epsilons"]], text=text,
                               texttemplate="%{text}", colorscale="Viridis"))
    fig.update_layout(**{**LAYOUT, "height": 320},
                      title=f"LLC calibration at epoch {calibration['epoch']} (* valid and "
                            "stationary)", xaxis_title="nβ", yaxis_title="ε")
    return fig


# ---- groups (analysis.json with kind "group") --------------------------------------------------


def irrep_spectrum(analysis: dict) -> go.Figure:
    """Per irrep: the isotypic fraction of the embeddings and of W_L, and the share of the logits'
    product component; key irreps marked."""
    rows = analysis["snapshot"]["per_irrep"]
    names = [r["irrep"] + (" ★" if r["key"] else "") for r in rows]
    fig = go.Figure()
    for label, key, color in (("embeddings", "embed_fraction", "#636EFA"),
                              ("unembedding W_L", "unembed_fraction", "#19D3F3"),
                              ("logits (product component)", "logit_share", KEY_COLOR)):
        fig.add_trace(go.Bar(x=names, y=[r[key] for r in rows], name=label, marker_color=color))
    fig.update_layout(**LAYOUT, barmode="group", title="Irrep spectrum (★ key irreps)",
                      yaxis_title="fraction")
    return fig


def irrep_ablations(analysis: dict) -> go.Figure:
    """Per irrep: the loss with only that irrep's product component kept (all pairs), and the
    training loss with it removed."""
    rows = analysis["snapshot"]["per_irrep"]
    names = [r["irrep"] + (" ★" if r["key"] else "") for r in rows]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=names, y=_floor([r["restricted_loss"] for r in rows], 1e-6),
                         name="restricted to this irrep (all pairs)", marker_color="#00CC96"))
    fig.add_trace(go.Bar(x=names, y=_floor([r["excluded_train_loss"] for r in rows], 1e-6),
                         name="without this irrep (train pairs)", marker_color="#AB63FA"))
    fig.add_hline(y=max(analysis["train_loss"], 1e-6), line=dict(color="#888", dash="dot"),
                  annotation_text="full model, train")
    fig.update_layout(**LAYOUT, barmode="group", title="Restricted and excluded loss per irrep",
                      yaxis=dict(type="log", title="cross-entropy"))
    return fig


def group_progress(points: list[dict], phases: dict | None = None) -> go.Figure:
    """Restricted/excluded/test loss and the key irreps' embedding fraction over checkpoints; with
    coset measures, the coset-concentrated fraction beside it and the median min C below."""
    cosets = any(p.get("coset_fraction") is not None for p in points)
    rows = 3 if cosets else 2
    titles = ("restricted / excluded / test loss", "embedding fraction in the final key irreps"
              + (" / coset-concentrated parts" if cosets else ""), "median min C over operand parts")
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=titles[:rows])
    x = _x([p["epoch"] for p in points])
    for name, key, color in (("restricted loss", "restricted_loss", "#00CC96"),
                             ("excluded loss (train)", "excluded_loss", "#AB63FA"),
                             ("test loss", "loss_test", "#EF553B"),
                             ("train loss", "loss_train", "#636EFA")):
        fig.add_trace(go.Scatter(x=x, y=_floor([p[key] for p in points]), name=name,
                                 line=dict(color=color)), 1, 1)
    fig.add_trace(go.Scatter(x=x, y=[p["key_embed_fraction"] for p in points],
                             name="key-irrep fraction", line=dict(color="#FFA15A")), 2, 1)
    if cosets:
        fig.add_trace(go.Scatter(x=x, y=[p.get("coset_fraction") for p in points],
                                 name="coset-concentrated parts (min C < 1)",
                                 line=dict(color="#19D3F3")), 2, 1)
        fig.add_trace(go.Scatter(x=x, y=[None if p.get("coset_median_c") is None
                                    else max(p["coset_median_c"], 1e-8) for p in points],
                                 name="median min C", line=dict(color="#AB63FA")), 3, 1)
        fig.add_hline(y=1.0, line=dict(color="#888", dash="dot"), row=3, col=1)
        fig.update_yaxes(type="log", row=3, col=1)
    for row in range(1, rows + 1):
        fig.update_xaxes(type="log", row=row, col=1, title_text="epoch" if row == rows else None)
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_yaxes(range=[0, 1.02], row=2, col=1)
    _shade_phases(fig, phases, rows=rows)
    fig.update_layout(**{**LAYOUT, "height": 620 if rows == 2 else 860})
    return fig


def coset_concentration(cosets: dict) -> go.Figure:
    """Left: operand parts per winning subgroup class (concentrated parts only). Right: every
    part's min C, sorted, against the threshold 1 and what random functions give."""
    fig = make_subplots(rows=1, cols=2, column_widths=[0.45, 0.55], horizontal_spacing=0.1,
                        subplot_titles=("winning subgroup (parts with min C < 1)",
                                        "min C per operand part, sorted"))
    wins = cosets["winning_subgroups"]
    fig.add_trace(go.Bar(x=list(wins), y=list(wins.values()), marker_color=KEY_COLOR,
                         name="parts", showlegend=False), 1, 1)
    for side, color in (("left", "#636EFA"), ("right", "#00CC96")):
        c = sorted(n[side]["c"] for n in cosets["neurons"] if n[side])
        fig.add_trace(go.Scatter(x=list(range(len(c))), y=_floor(c, 1e-8), mode="markers",
                                 marker=dict(size=4, color=color),
                                 name=f"{side} operand ({'a' if side == 'left' else 'b'})"), 1, 2)
    for y, text in ((1.0, "threshold 1"), (cosets["null_min_c"], "random functions")):
        fig.add_hline(y=y, line=dict(color="#888", dash="dot"), annotation_text=text, row=1, col=2)
    fig.update_yaxes(type="log", title_text="min over subgroups of C", row=1, col=2)
    fig.update_yaxes(title_text="operand parts", row=1, col=1)
    fig.update_layout(**{**LAYOUT, "height": 420})
    return fig


def character_interference(terms: dict) -> go.Figure:
    """The character program's terms α_ρ χ_ρ(a·b·c⁻¹) over every class c for one pair, and their
    sum: only the answer gets every term at its maximum."""
    fig = go.Figure()
    classes = list(range(len(terms["total"])))
    for name, values in terms["terms"].items():
        fig.add_trace(go.Bar(x=classes, y=values, name=name, opacity=0.6))
    fig.add_trace(go.Scatter(x=classes, y=terms["total"], name="sum", mode="lines",
                             line=dict(color="black", width=2)))
    fig.update_layout(**LAYOUT, barmode="overlay",
                      title=f"a={terms['a']}, b={terms['b']}: the terms agree only at c = a·b = "
                            f"{terms['answer']}", xaxis_title="class c (element index)",
                      yaxis_title="α χ(a·b·c⁻¹)")
    return fig
