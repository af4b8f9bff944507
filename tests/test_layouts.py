"""Foreign model files run as their authors ran them: each layout's imported model against a
reference forward written from the description of the authors' code (tests/reference_forwards.py),
at every depth, activation, attention rate and vocabulary the layout allows; the real TransformerLens
round trips; bad configs refused in one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import groklab_cli
from reference_forwards import clockpizza, hooked_transformer, relative_error
from safetensors.torch import save_file

from groklab.errors import GroklabError
from groklab.models import deepen
from groklab.models.io import build_imported, import_model

TOL = 1e-5


def _randn(gen, *shape, std=1.0):
    return torch.randn(*shape, generator=gen) * std


def clockpizza_state(c: int, d: int, heads: int, layers: int, v: int, n_ctx: int,
                     seed: int = 0) -> dict:
    """A state dict in Zhong et al.'s layout (W_E [d, V], W_Q [h, d_head, d], d_mlp = 4d)."""
    g = torch.Generator().manual_seed(seed)
    dh, s = d // heads, d ** -0.5
    sd = {"embed.W_E": _randn(g, d, v, std=1.0), "pos_embed.W_pos": _randn(g, n_ctx, d, std=0.5),
          "unembed.W_U": _randn(g, d, v, std=s)}
    for i in range(layers):
        b = f"blocks.{i}."
        sd.update({b + "attn.W_Q": _randn(g, heads, dh, d, std=s),
                   b + "attn.W_K": _randn(g, heads, dh, d, std=s),
                   b + "attn.W_V": _randn(g, heads, dh, d, std=s),
                   b + "attn.W_O": _randn(g, d, heads * dh, std=s),
                   b + "attn.mask": torch.tril(torch.ones(n_ctx, n_ctx)),
                   b + "mlp.W_in": _randn(g, 4 * d, d, std=s), b + "mlp.b_in": _randn(g, 4 * d, std=0.1),
                   b + "mlp.W_out": _randn(g, d, 4 * d, std=0.5 * s),
                   b + "mlp.b_out": _randn(g, d, std=0.1)})
    return sd


CLOCKPIZZA_CASES = [  # layers, act, rate, diff_vocab, eqn_sign
    (1, "ReLU", 0.0, False, False), (1, "GeLU", 1.0, False, False), (1, "ReLU", 0.5, True, False),
    (2, "ReLU", 0.0, False, False), (2, "Tanh", 0.5, True, False), (3, "GeLU", 1.0, False, True),
    (4, "ReLU", 0.0, True, True)]


@pytest.mark.parametrize("layers,act,rate,diff,eqn", CLOCKPIZZA_CASES)
def test_clockpizza_runs_their_forward(tmp_path, layers, act, rate, diff, eqn):
    c, d = 11, 16
    v = c * (2 if diff else 1) + (1 if eqn else 0)
    sd = clockpizza_state(c, d, 2, layers, v, 3 if eqn else 2, seed=layers)
    config = {"C": c, "n_layers": layers, "d_model": d, "n_heads": 2, "attn_coeff": rate,
              "act_fn": act, "frac": 0.8, "diff_vocab": diff, "eqn_sign": eqn}
    torch.save(sd, tmp_path / "model_1.pt")
    imported = import_model(tmp_path / "model_1.pt", "clockpizza2023", config=config)
    assert imported.p == c and imported.model.n_layers == layers
    model = build_imported(imported, "test")
    a, b = torch.cartesian_prod(torch.arange(c), torch.arange(c)).T
    ref = clockpizza(sd, config, a, b)
    pairs = torch.stack([a, b], 1)
    with torch.no_grad():
        assert relative_error(model.logits(pairs), ref) <= TOL  # the fast path at one layer
        assert relative_error(model.plain_logits(pairs), ref) <= TOL


def test_clockpizza_sum_is_not_the_mean(tmp_path):
    """At rate 0 their attention adds the value vectors; a mean would halve them (the old reading)."""
    from dataclasses import replace

    sd = clockpizza_state(11, 16, 2, 2, 11, 2)
    config = {"C": 11, "attn_coeff": 0.0, "act_fn": "ReLU"}
    torch.save(sd, tmp_path / "m.pt")
    imported = import_model(tmp_path / "m.pt", "clockpizza2023", config=config)
    pairs = torch.cartesian_prod(torch.arange(11), torch.arange(11))
    ref = clockpizza(sd, config, pairs[:, 0], pairs[:, 1])
    for change in ({"attn_mix": "mean"}, {"causal": True}):
        other = build_imported(replace(imported, model=replace(imported.model, **change)), "t")
        with torch.no_grad():
            assert relative_error(other.logits(pairs), ref) > 1e-2


def tl_state(p: int, d: int, heads: int, layers: int, n_ctx: int, d_vocab_out: int, norm,
             bias: bool, seed: int = 0, attn_only: bool = False) -> dict:
    """A HookedTransformer state dict (W_E [d_vocab, d], W_Q [h, d, d_head], biases, LN weights;
    attention-only: no MLP and no ln2)."""
    g = torch.Generator().manual_seed(seed)
    dh, s, d_mlp = d // heads, d ** -0.5, 2 * d
    d_vocab = p + 1 if n_ctx == 3 else p
    z = (lambda *shape: _randn(g, *shape, std=0.1)) if bias else (lambda *shape: torch.zeros(shape))
    sd = {"embed.W_E": _randn(g, d_vocab, d), "pos_embed.W_pos": _randn(g, n_ctx, d, std=0.5),
          "unembed.W_U": _randn(g, d, d_vocab_out, std=s), "unembed.b_U": z(d_vocab_out)}
    for i in range(layers):
        b = f"blocks.{i}."
        sd.update({b + "attn.W_Q": _randn(g, heads, d, dh, std=s), b + "attn.b_Q": z(heads, dh),
                   b + "attn.W_K": _randn(g, heads, d, dh, std=s), b + "attn.b_K": z(heads, dh),
                   b + "attn.W_V": _randn(g, heads, d, dh, std=s), b + "attn.b_V": z(heads, dh),
                   b + "attn.W_O": _randn(g, heads, dh, d, std=s), b + "attn.b_O": z(d),
                   b + "attn.IGNORE": torch.tensor(-1e5),
                   b + "mlp.W_in": _randn(g, d, d_mlp, std=s), b + "mlp.b_in": _randn(g, d_mlp, std=0.1),
                   b + "mlp.W_out": _randn(g, d_mlp, d, std=0.5 * s),
                   b + "mlp.b_out": _randn(g, d, std=0.1)})
        if norm == "LN":
            for ln in ("ln1", "ln2"):
                sd[b + ln + ".w"] = 1 + _randn(g, d, std=0.2)
                sd[b + ln + ".b"] = _randn(g, d, std=0.2)
        if attn_only:
            for k in [k for k in sd if k.startswith((b + "mlp.", b + "ln2."))]:
                del sd[k]
    if norm == "LN":
        sd["ln_final.w"], sd["ln_final.b"] = 1 + _randn(g, d, std=0.2), _randn(g, d, std=0.2)
    return sd


TL_CASES = [  # layers, normalization, act, biases, n_ctx, answers only, attention only
    (1, None, "relu", False, 3, True, False), (1, "LN", "gelu", True, 3, False, False),
    (2, None, "gelu_new", True, 3, True, False), (2, "LNPre", "silu", False, 2, True, False),
    (3, "LN", "relu", True, 3, True, False), (3, "LNPre", "gelu", True, 3, False, False),
    (1, None, "relu", False, 3, True, True), (2, "LN", "relu", True, 3, True, True),
    (3, "LNPre", "relu", False, 2, True, True)]


@pytest.mark.parametrize("layers,norm,act,bias,n_ctx,answers,attn_only", TL_CASES)
def test_transformerlens_runs_its_forward(tmp_path, layers, norm, act, bias, n_ctx, answers,
                                          attn_only):
    p, d = 13, 16
    d_vocab_out = p if answers or n_ctx == 2 else p + 1
    sd = tl_state(p, d, 2, layers, n_ctx, d_vocab_out, norm, bias, seed=layers,
                  attn_only=attn_only)
    cfg = {"n_layers": layers, "d_model": d, "n_heads": 2, "d_head": d // 2,
           "d_mlp": None if attn_only else 2 * d,
           "d_vocab": p + (n_ctx == 3), "d_vocab_out": d_vocab_out, "n_ctx": n_ctx, "act_fn": act,
           "normalization_type": norm, "positional_embedding_type": "standard",
           "attn_only": attn_only}
    save_file({k: v.contiguous() for k, v in sd.items()}, tmp_path / "model.safetensors")
    imported = import_model(tmp_path / "model.safetensors", "transformerlens", config=cfg)
    assert imported.p == p and imported.model.attn_bias == bias
    assert (imported.model.d_mlp == 0) == attn_only
    if attn_only:  # without a config, no MLP keys say the same
        assert import_model(tmp_path / "model.safetensors", "transformerlens").model.d_mlp == 0
    model = build_imported(imported, "test")
    pairs = torch.cartesian_prod(torch.arange(p), torch.arange(p))
    tokens = torch.cat([pairs, torch.full((len(pairs), 1), p)], 1) if n_ctx == 3 else pairs
    ref = hooked_transformer(sd, cfg, tokens, p)
    with torch.no_grad():
        assert relative_error(model.logits(pairs), ref) <= TOL
        assert relative_error(model.plain_logits(pairs), ref) <= TOL


BAD_TL = [({"normalization_type": "RMS"}, "normalization_type='RMS'"),
          ({"positional_embedding_type": "rotary"}, "positional_embedding_type='rotary'"),
          ({"act_fn": "solu_ln"}, "act_fn='solu_ln'"), ({"attn_only": True}, "attn_only=True"),
          ({"n_ctx": 5}, "n_ctx=5"), ({"d_mlp": 7}, "d_mlp=7"),
          ({"normalization_type": "LN"}, "LayerNorm weights")]


@pytest.mark.parametrize("change,text", BAD_TL)
def test_transformerlens_refuses_what_it_cannot_run(tmp_path, change, text):
    sd = tl_state(13, 16, 2, 2, 3, 13, None, False)
    save_file({k: v.contiguous() for k, v in sd.items()}, tmp_path / "model.safetensors")
    (tmp_path / "cfg.json").write_text(json.dumps({"n_layers": 2, "act_fn": "relu", **change}))
    with pytest.raises(GroklabError) as e:
        import_model(tmp_path / "model.safetensors", "transformerlens",
                     config=json.loads((tmp_path / "cfg.json").read_text()))
    assert text in str(e.value) and "\n" not in str(e.value)
    r = groklab_cli("analyze", str(tmp_path / "model.safetensors"), "--layout", "transformerlens",
                    "--config", str(tmp_path / "cfg.json"), "--task", "add", "--json",
                    str(tmp_path / "out.json"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and text in r.stderr
    assert not (tmp_path / "out.json").exists()


def test_transformerlens_bad_vocabulary_and_shapes(tmp_path):
    sd = tl_state(13, 16, 2, 1, 3, 13, None, False)
    sd["unembed.W_U"] = sd["unembed.W_U"][:, :9].contiguous()  # 9 answers from 14 tokens
    with pytest.raises(GroklabError, match="fit no task"):
        from groklab.models.layouts import transformerlens
        transformerlens.read(sd, tmp_path / "m", None)
    sd = tl_state(13, 16, 2, 2, 3, 13, None, False)
    del sd["blocks.1.mlp.W_out"]
    with pytest.raises(GroklabError, match="missing blocks.1.mlp.W_out"):
        transformerlens.read(sd, tmp_path / "m", None)


def test_rep_theory_transformer_reads_with_its_group(tmp_path):
    """Chughtai et al.'s HookedTransformer: x_embed / y_embed copies ignored, `=` the token n, their
    numbering and split from cfg.json; logits as TransformerLens computes them."""
    n = 14  # D7
    sd = tl_state(n, 16, 2, 1, 3, n, None, False)
    sd["x_embed.W_E"] = sd["embed.W_E"].clone()
    sd["y_embed.W_E"] = sd["embed.W_E"].clone()
    torch.save(sd, tmp_path / "model.pt")
    cfg = {"group": "DihedralGroup", "group_parameter": 7, "frac_train": 0.4, "seed": 3,
           "model": "Transformer"}
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    imported = import_model(tmp_path / "model.pt", "chughtai2023", config=cfg)
    assert imported.p == n and imported.extras["group"] == "D7" and imported.model.eq_token
    model = build_imported(imported, "t")
    pairs = torch.cartesian_prod(torch.arange(n), torch.arange(n))
    tokens = torch.cat([pairs, torch.full((len(pairs), 1), n)], 1)
    with torch.no_grad():
        assert relative_error(model.logits(pairs), hooked_transformer(
            sd, {"n_layers": 1}, tokens, n)) <= TOL
    r = groklab_cli("analyze", str(tmp_path / "model.pt"), "--layout", "chughtai2023", "--config",
                    str(tmp_path / "cfg.json"), "--json", str(tmp_path / "a.json"))
    assert r.returncode == 0, r.stderr
    saved = json.loads((tmp_path / "a.json").read_text())
    assert saved["kind"] == "group" and saved["structure"]["name"] == "D7"
    assert saved["key_irreps"] == [] and saved["algorithm"] == "lookup"  # a random network
    wrong = {**cfg, "group_parameter": 8}
    with pytest.raises(GroklabError, match="16 elements"):
        import_model(tmp_path / "model.pt", "chughtai2023", config=wrong)


def _transformer_lens():
    tl = pytest.importorskip("transformer_lens")
    try:
        return tl.HookedTransformer, tl.HookedTransformerConfig
    except ImportError:
        pytest.skip("this TransformerLens has no HookedTransformer (4.0 removed it): pip install "
                    "-e .[tl] installs 3.x")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("layers,ln,d_mlp", [(1, False, 64), (2, True, 64), (3, False, 64),
                                             (3, True, 64), (2, True, 0)])
def test_export_loads_in_a_real_hooked_transformer(tmp_path, layers, ln, d_mlp):
    """groklab → TransformerLens: export, HookedTransformer(cfg), load_state_dict, same logits
    (d_mlp 0: an attention-only HookedTransformer)."""
    from safetensors.torch import load_file

    from groklab.config import ModelConfig
    from groklab.models import build_model
    from groklab.models.io import export_transformerlens

    hooked, config = _transformer_lens()
    model = build_model(ModelConfig(n_layers=layers, d_model=32, n_heads=2, d_head=16, d_mlp=d_mlp,
                                    layer_norm=ln), 17, seed=layers)
    out = export_transformerlens(model, tmp_path / "tl")
    tl_model = hooked(config(**json.loads((out / "config.json").read_text())))
    missing, unexpected = tl_model.load_state_dict(load_file(out / "model.safetensors"),
                                                   strict=False)
    assert unexpected == [] and all(k.endswith(("mask", "IGNORE")) for k in missing), missing
    pairs = torch.cartesian_prod(torch.arange(17), torch.arange(17))
    with torch.no_grad():
        ours, theirs = model.logits(pairs), tl_model(model.tokens(pairs))[:, -1]
    assert relative_error(ours, theirs.double()) <= TOL


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("layers,norm,act,attn_only", [(1, None, "relu", False),
                                                       (2, "LN", "gelu", False),
                                                       (3, "LNPre", "gelu_new", False),
                                                       (2, "LN", "relu", True)])
def test_a_trained_hooked_transformer_is_read_as_it_runs(tmp_path, layers, norm, act, attn_only):
    """TransformerLens → groklab: a HookedTransformer built and trained a few steps in
    TransformerLens, saved with its config, read by `groklab analyze` with the same logits
    (also an attention-only one)."""
    hooked, config = _transformer_lens()
    p = 13
    cfg = config(n_layers=layers, d_model=32, n_heads=2, d_head=16,
                 d_mlp=None if attn_only else 64, d_vocab=p + 1, d_vocab_out=p, n_ctx=3,
                 act_fn=act, normalization_type=norm, seed=layers, attn_only=attn_only)
    tl_model = hooked(cfg)
    pairs = torch.cartesian_prod(torch.arange(p), torch.arange(p))
    tokens = torch.cat([pairs, torch.full((len(pairs), 1), p)], 1)
    labels = (pairs[:, 0] + pairs[:, 1]) % p
    opt = torch.optim.AdamW(tl_model.parameters(), lr=3e-3)
    for _ in range(20):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(tl_model(tokens)[:, -1], labels).backward()
        opt.step()
    sd = {k: v.detach().contiguous() for k, v in tl_model.state_dict().items()
          if not k.endswith(("mask", "IGNORE"))}
    save_file(sd, tmp_path / "model.safetensors")
    as_json = {k: v for k, v in cfg.to_dict().items()
               if isinstance(v, (int, float, str, bool, type(None)))}
    (tmp_path / "cfg.json").write_text(json.dumps(as_json))
    imported = import_model(tmp_path / "model.safetensors", "transformerlens", config=as_json)
    model = build_imported(imported, "t")
    with torch.no_grad():
        assert relative_error(model.logits(pairs), tl_model(tokens)[:, -1].double()) <= TOL
    r = groklab_cli("analyze", str(tmp_path / "model.safetensors"), "--layout", "transformerlens",
                    "--config", str(tmp_path / "cfg.json"), "--task", "add", "--json",
                    str(tmp_path / "a.json"))
    assert r.returncode == 0, r.stderr
    saved = json.loads((tmp_path / "a.json").read_text())
    assert saved["model"]["n_layers"] == layers and saved["p"] == p
    assert saved["algorithm"] in ("lookup", "unknown")  # 20 steps learn no algorithm


def test_a_deep_clock_is_named_by_its_logits():
    """Gradient symmetricity votes at one layer only; a 2-layer clock is still a clock, and its
    inputs meet as a pair (each head copies one token into its own slot)."""
    from handbuilt import fourier_transformer

    from groklab.config import TaskConfig
    from groklab.engine import analyze_model
    from groklab.tasks import make_dataset

    data = make_dataset(TaskConfig(name="add", p=31, frac_train=0.3))
    shallow = analyze_model(fourier_transformer(31), data, {"kind": "test"})
    deep_model = deepen(fourier_transformer(31), 2)
    pairs = torch.as_tensor(data.pairs)
    with torch.no_grad():
        assert torch.allclose(deep_model.logits(pairs), fourier_transformer(31).logits(pairs),
                              atol=1e-5)
    deep = analyze_model(deep_model, data, {"kind": "test"})
    assert shallow.algorithm == deep.algorithm == "clock"
    assert "gradient_symmetricity" in shallow.family_comparison.pizza_votes
    assert "gradient_symmetricity" not in deep.family_comparison.pizza_votes
    assert any("does not vote" in n for n in deep.notes)
    assert deep.input_side["side"] == "pair" and deep.input_side["fve"] < 0.9


@pytest.mark.parametrize("kind,side", [("mlp_sum", "sum"), ("rate0_eq", "sum"),
                                       ("random", "pair"), ("mlp_concat", "pair")])
def test_input_side_on_each_side_of_its_threshold(kind, side):
    """Networks that read only E_a + E_b keep their logits exactly when both embeddings are
    replaced by their mean (FVE 1); ordinary ones lose much of them (a concatenating MLP, a
    transformer whose attention picks positions)."""
    from groklab.analysis.cyclic.diagnostics import input_side
    from groklab.config import ModelConfig
    from groklab.models import build_model
    from groklab.rules import SUMMED_INPUT_FVE

    cfg = {"mlp_sum": ModelConfig(kind="mlp", d_model=16, d_mlp=32, combine="sum"),
           "mlp_concat": ModelConfig(kind="mlp", d_model=16, d_mlp=32),
           "rate0_eq": ModelConfig(d_model=16, n_heads=2, d_head=8, d_mlp=32, attn_rate=0.0,
                                   attn_mix="sum", causal=False),
           "random": ModelConfig(d_model=16, n_heads=2, d_head=8, d_mlp=32)}[kind]
    model = build_model(cfg, 13, 1)
    if kind == "random":  # at initialization attention is near uniform (near a sum): sharpen it
        with torch.no_grad():
            model.blocks[0].attn.W_Q.mul_(6.0)
            model.blocks[0].attn.W_K.mul_(6.0)
    pairs = torch.cartesian_prod(torch.arange(13), torch.arange(13))
    result = input_side(model, pairs)
    assert result["side"] == side
    if side == "sum":
        assert result["fve"] >= 1 - 1e-9
    else:
        assert result["fve"] < SUMMED_INPUT_FVE - 0.05


def test_layers_read_a_deep_clock_layer_by_layer():
    """The 2-layer clock (its second block all zeros): layer 0 carries the key frequencies and
    removing its MLP breaks the network; layer 1 adds nothing and removing it changes nothing."""
    from handbuilt import fourier_transformer

    from groklab.config import TaskConfig
    from groklab.engine import analyze_model
    from groklab.tasks import make_dataset

    data = make_dataset(TaskConfig(name="add", p=31, frac_train=0.3))
    r = analyze_model(deepen(fourier_transformer(31), 2), data, {"kind": "test"})
    first, second = r.layers
    assert r.key_frequencies == [3, 7, 11]
    assert first.neuron_key_share >= 0.95 and set(first.neuron_top) >= {3, 7, 11}
    assert first.accuracy_without_mlp <= 0.2 and second.accuracy_without_mlp == 1.0
    assert second.neuron_key_share == 0.0 and second.neuron_clusters == {}
    assert first.resid_key_share >= 0.5
    # restricted to the key blocks after either block the network is unchanged; without them it
    # is lost (the loss at chance, log 31 = 3.43)
    for layer in (first, second):
        assert layer.restricted_accuracy == 1.0
        assert layer.restricted_loss == pytest.approx(r.restricted_loss, rel=1e-3)
        assert layer.excluded_train_loss >= 0.9 * np.log(31)
    names = {a.name for a in r.ablations}
    assert {"mean:mlp", "zero:mlp", "mean:attn", "mean:L1.mlp", "mean:L1.attn", "restricted:L0",
            "excluded:L1"} <= names
    assert "layer 1:" in "\n".join(r.summary_lines())


def test_a_file_whose_task_cannot_be_inferred_says_what_was_tried(tmp_path):
    sd = tl_state(13, 16, 2, 2, 3, 13, None, False)
    save_file({k: v.contiguous() for k, v in sd.items()}, tmp_path / "model.safetensors")
    r = groklab_cli("analyze", str(tmp_path / "model.safetensors"), "--json",
                    str(tmp_path / "a.json"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    for task in ("add", "sub", "mul", "div"):
        assert f"{task} 0." in r.stderr
    assert "cannot infer the task" in r.stderr and not (tmp_path / "a.json").exists()


def zhong_state(model, d_model: int, d_head: int) -> dict:
    """A groklab transformer written in Zhong et al.'s layout (W_E [d, V], W_Q [h, d_head, d],
    W_O [d, h·d_head], W_in [d_mlp, d]), zero-padded to d_model and d_head (the same function);
    the unembedding gets zero columns for the ids that are not answers."""
    import torch.nn.functional as F

    w = {k: t.detach().float() for k, t in model.state_dict().items()}
    m, h = w["embed.W_E"].shape[1], w["blocks.0.attn.W_Q"].shape[0]
    pad_m = d_model - m
    v = w["embed.W_E"].shape[0]
    sd = {"embed.W_E": F.pad(w["embed.W_E"], (0, pad_m)).T.contiguous(),
          "pos_embed.W_pos": F.pad(w["pos_embed.W_pos"], (0, pad_m)),
          "unembed.W_U": F.pad(w["unembed.W_U"], (0, v - w["unembed.W_U"].shape[1], 0, pad_m))}
    for i in range(model.cfg.n_layers):
        b = f"blocks.{i}."
        for name in "QKV":  # [h, m, dh] -> [h, d_head, d_model]
            t = w[b + f"attn.W_{name}"]
            sd[b + f"attn.W_{name}"] = F.pad(t, (0, d_head - t.shape[2], 0, pad_m)).transpose(1, 2)
        o = w[b + "attn.W_O"]  # [h, dh, m] -> [d_model, h·d_head]
        sd[b + "attn.W_O"] = F.pad(o, (0, pad_m, 0, d_head - o.shape[1])).reshape(h * d_head, -1).T
        sd[b + "mlp.W_in"] = F.pad(w[b + "mlp.W_in"], (0, 0, 0, pad_m)).T.contiguous()
        sd[b + "mlp.b_in"] = w[b + "mlp.b_in"]
        sd[b + "mlp.W_out"] = F.pad(w[b + "mlp.W_out"], (0, pad_m)).T.contiguous()
        sd[b + "mlp.b_out"] = F.pad(w[b + "mlp.b_out"], (0, pad_m))
    return {k: t.contiguous() for k, t in sd.items()}


def test_their_sample_is_their_sample():
    """random.Random(42).sample over the list of every triple, as their script draws it."""
    import itertools
    import random

    from groklab.analysis.cyclic.diagnostics import their_triples

    for p in (7, 23, 59):  # 7: `sample`'s pool branch (p³ small), 23 and 59: its set branch
        theirs = random.Random(42).sample(list(itertools.product(range(p), repeat=3)), 100)
        assert their_triples(p).tolist() == [list(t) for t in theirs]


def test_clockpizza_diagnostics_equal_their_scripts(tmp_path):
    """A hand-built clock (its second position's query picks a and b) in Zhong et al.'s layout:
    groklab's gradient symmetricity (the paper's: logit c), their script's (the final residual's
    coordinate c on raw `a b`) and the distance irrelevance equal what their analysis code
    computes on the same model and sample, to 1e-3."""
    from handbuilt import fourier_transformer

    from groklab.config import TaskConfig
    from groklab.engine import analyze_model
    from groklab.tasks import make_dataset
    from reference_forwards import clockpizza_their_diagnostics

    p = 23
    gen = torch.Generator().manual_seed(0)
    sd = {k: t + 1e-3 * torch.randn(t.shape, generator=gen)  # breaks the grid's exact ReLU ties
          for k, t in zhong_state(fourier_transformer(p), 48, 24).items()}
    config = {"C": p, "n_layers": 1, "d_model": 48, "n_heads": 2, "attn_coeff": 1.0,
              "act_fn": "ReLU", "frac": 0.3, "diff_vocab": False, "eqn_sign": True}
    torch.save(sd, tmp_path / "model_1.pt")
    imported = import_model(tmp_path / "model_1.pt", "clockpizza2023", config=config)
    model = build_imported(imported, "test")
    pairs = torch.cartesian_prod(torch.arange(p), torch.arange(p))
    with torch.no_grad():
        assert relative_error(model.logits(pairs), clockpizza(sd, config, *pairs.T)) <= TOL
    theirs = clockpizza_their_diagnostics(sd, config)
    r = analyze_model(model, make_dataset(TaskConfig(name="add", p=p, frac_train=0.3)),
                      {"kind": "test"})
    assert r.algorithm == "clock"
    for key in ("gradient_symmetricity", "gradient_symmetricity_authors", "distance_irrelevance"):
        assert getattr(r, key) == pytest.approx(theirs[key], abs=1e-3, nan_ok=True), key
    # rate 0 (their pizza attention), random weights: both symmetricities still match theirs
    rand = clockpizza_state(p, 32, 2, 1, p, 2, seed=5)
    config0 = {**config, "attn_coeff": 0.0, "d_model": 32, "eqn_sign": False}
    torch.save(rand, tmp_path / "model_2.pt")
    model0 = build_imported(import_model(tmp_path / "model_2.pt", "clockpizza2023",
                                         config=config0), "test")
    theirs0 = clockpizza_their_diagnostics(rand, config0)
    from groklab.analysis.cyclic.diagnostics import (authors_gradient_symmetricity,
                                                     gradient_symmetricity)
    assert gradient_symmetricity(model0, p) == pytest.approx(theirs0["gradient_symmetricity"],
                                                             abs=1e-3)
    assert authors_gradient_symmetricity(model0, p) == pytest.approx(
        theirs0["gradient_symmetricity_authors"], abs=1e-3)


@pytest.mark.parametrize("kind,layers", [("pizza", 1), ("pizza", 2), ("clock", 1), ("clock", 3)])
def test_summed_inputs_are_named_by_their_logits(kind, layers):
    """Hand-built transformers with Zhong et al.'s rate-0 attention (the `=` position sees only
    E_a + E_b): a pizza (|cos(w(a−b)/2)| cos(w(a+b−c))) and a clock built from the sums alone
    (cos(w(a+b)) from squares of the summed waves). Both read their inputs as a sum and have
    gradient symmetricity 1; the logits name them: pizza, and clock with the qualifier "a clock
    on summed inputs" (at one layer the symmetricity votes pizza and is outvoted; deeper it does
    not vote)."""
    from handbuilt import summed_transformer

    from groklab.config import TaskConfig
    from groklab.engine import analyze_model
    from groklab.tasks import make_dataset

    data = make_dataset(TaskConfig(name="add", p=31, frac_train=0.3))
    model = deepen(summed_transformer(31, kind=kind), layers)
    r = analyze_model(model, data, {"kind": "test"})
    assert r.test_accuracy == 1.0 and r.key_frequencies == [3, 7, 11]
    assert r.algorithm == kind
    assert r.input_side["side"] == "sum" and r.input_side["fve"] >= 1 - 1e-6
    assert r.gradient_symmetricity == pytest.approx(1.0, abs=1e-6)
    votes = r.family_comparison.pizza_votes
    assert ("gradient_symmetricity" in votes) == (layers == 1)
    assert votes["distance_irrelevance"] == (kind == "pizza")
    summed = any(n.startswith("a clock on summed inputs") for n in r.notes)
    assert summed == (kind == "clock")


def test_layer_restrictions_say_where_the_answer_forms():
    """The clock's block moved to layer 1 behind an all-zero block 0: after block 0 the last
    position holds no key frequencies yet, so removing them there loses nothing (block 1 still
    reads a and b from their positions); after block 1 removing them loses the answer."""
    from dataclasses import replace

    from handbuilt import fourier_transformer

    from groklab.config import TaskConfig
    from groklab.engine import analyze_model
    from groklab.models import build_model
    from groklab.tasks import make_dataset

    clock = fourier_transformer(31)
    late = build_model(replace(clock.cfg, n_layers=2), 31, 0)
    own = dict(clock.named_parameters())
    with torch.no_grad():
        for name, param in late.named_parameters():
            src = name.replace("blocks.1.", "blocks.0.") if name.startswith("blocks.1.") else name
            param.copy_(torch.zeros_like(param) if name.startswith("blocks.0.") else own[src])
    data = make_dataset(TaskConfig(name="add", p=31, frac_train=0.3))
    r = analyze_model(late, data, {"kind": "test"})
    first, second = r.layers
    assert r.accuracy == 1.0 and r.key_frequencies == [3, 7, 11]
    assert first.excluded_train_loss == pytest.approx(r.train_loss, rel=1e-3)
    assert second.excluded_train_loss >= 0.9 * np.log(31)
    assert first.restricted_accuracy == second.restricted_accuracy == 1.0
