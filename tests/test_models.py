import pytest
import torch

from groklab.config import ModelConfig
from groklab.errors import GroklabError
from groklab.models import build_model


def _pairs(p):
    a = torch.arange(p)
    return torch.cartesian_prod(a, a)


@pytest.mark.parametrize("layer_norm", [False, True])
@pytest.mark.parametrize("act", ["relu", "gelu"])
def test_fast_path_equals_plain_forward(layer_norm, act):
    p = 17
    model = build_model(ModelConfig(d_model=32, n_heads=4, d_head=8, d_mlp=64, act=act,
                                    layer_norm=layer_norm), p, seed=3)
    pairs = _pairs(p)
    labels = (pairs.sum(1) * 5) % p
    grads = []
    outs = []
    for fast in (True, False):
        model.zero_grad()
        logits = model.logits(pairs) if fast else model(model.tokens(pairs))[:, -1]
        torch.nn.functional.cross_entropy(logits, labels).backward()
        outs.append(logits.detach())
        grads.append({n: q.grad.clone() for n, q in model.named_parameters()})
    scale = outs[1].abs().max()
    assert (outs[0] - outs[1]).abs().max() <= 1e-5 * scale
    for name, g in grads[1].items():
        assert (grads[0][name] - g).abs().max() <= 1e-5 * g.abs().max().clamp_min(1e-12), name


def test_parameters_follow_transformerlens_layout():
    model = build_model(ModelConfig(), 113, 0)
    shapes = {n: tuple(q.shape) for n, q in model.named_parameters()}
    assert shapes["embed.W_E"] == (114, 128)
    assert shapes["pos_embed.W_pos"] == (3, 128)
    assert shapes["blocks.0.attn.W_Q"] == (4, 128, 32)
    assert shapes["blocks.0.attn.W_O"] == (4, 32, 128)
    assert shapes["blocks.0.mlp.W_in"] == (128, 512)
    assert shapes["blocks.0.mlp.W_out"] == (512, 128)
    assert shapes["unembed.W_U"] == (128, 113)
    # init scale of the reference: N(0,1)/sqrt(d_model)
    assert abs(model.blocks[0].mlp.W_in.std().item() - 128**-0.5) < 0.01


def test_hooks_are_scoped_and_can_replace():
    model = build_model(ModelConfig(d_model=16, n_heads=2, d_head=8, d_mlp=32), 7, 0)
    pairs = _pairs(7)
    base = model.logits(pairs)
    with model.hooks({"blocks.0.mlp.hook_post": lambda x, name: torch.zeros_like(x)}):
        ablated = model.logits(pairs)
    assert not torch.allclose(base, ablated)
    assert torch.equal(model.logits(pairs), base)  # hook removed on exit
    _, cache = model.run_with_cache(pairs, ["blocks.0.mlp.hook_post", "blocks.0.attn.hook_pattern"])
    assert cache["blocks.0.mlp.hook_post"].shape == (49, 1, 32)
    assert cache["blocks.0.attn.hook_pattern"].shape == (49, 2, 1, 3)
    assert torch.allclose(cache["blocks.0.attn.hook_pattern"].sum(-1), torch.ones(49, 2, 1))
    with pytest.raises(GroklabError, match="unknown hook point"):
        with model.hooks({"nope": lambda x, n: None}):
            pass


def test_mlp_model_shapes_and_determinism():
    cfg = ModelConfig(kind="mlp", d_model=8, d_mlp=16, act="quadratic", combine="sum")
    a, b = build_model(cfg, 11, 5), build_model(cfg, 11, 5)
    assert torch.equal(a.logits(_pairs(11)), b.logits(_pairs(11)))
    assert a.logits(_pairs(11)).shape == (121, 11)


@pytest.mark.parametrize("eq_token", [True, False])
def test_fast_path_hook_activations_equal_the_plain_forward(eq_token):
    """Ablations read and replace activations at the last position through hooks on the fast
    path: every hook point the fast path fires holds the plain forward's last-position value."""
    p = 13
    model = build_model(ModelConfig(d_model=16, n_heads=2, d_head=8, d_mlp=32, eq_token=eq_token,
                                    attn_rate=0.5), p, seed=1).double()
    pairs = _pairs(p)
    names = ["blocks.0.hook_resid_pre", "blocks.0.attn.hook_v", "blocks.0.attn.hook_pattern",
             "blocks.0.attn.hook_z", "blocks.0.hook_attn_out", "blocks.0.hook_resid_mid",
             "blocks.0.mlp.hook_pre", "blocks.0.mlp.hook_post", "blocks.0.hook_mlp_out",
             "blocks.0.hook_resid_post"]
    _, fast = model.run_with_cache(pairs, names)
    cache = {}

    def save(x, name):
        cache[name] = x.detach()

    with torch.no_grad(), model.hooks({n: save for n in names}):
        model.plain_logits(pairs)
    for name in names:
        plain = cache[name]
        if name.endswith(("hook_v",)):  # per (batch, key position): all positions on both paths
            assert torch.allclose(fast[name], plain, atol=1e-12), name
        elif name.endswith("hook_pattern"):  # [batch, head, query, key]: the last query
            assert torch.allclose(fast[name][:, :, -1], plain[:, :, -1], atol=1e-12), name
        else:
            assert torch.allclose(fast[name][:, -1], plain[:, -1], atol=1e-12), name


@pytest.mark.parametrize("combine,embed,bias,act", [("concat", "shared", True, "relu"),
                                                    ("concat", "separate", False, "relu"),
                                                    ("sum", "shared", True, "gelu"),
                                                    ("sum", "separate", True, "quadratic")])
def test_mlp_token_table_path_equals_the_plain_forward(combine, embed, bias, act):
    """The MLP's training forward applies W_in once per token and gathers; the plain forward once
    per pair: the same logits and gradients, and with a hook attached every hook point is visited
    (the plain path)."""
    p = 23
    model = build_model(ModelConfig(kind="mlp", d_model=16, d_mlp=40, combine=combine, embed=embed,
                                    bias=bias, act=act), p, seed=4).double()
    if bias:
        with torch.no_grad():
            model.b_in.normal_()
    pairs = _pairs(p)
    labels = (pairs[:, 0] + pairs[:, 1]) % p
    outs, grads = [], []
    for forward in (model.logits, model.plain_logits):
        model.zero_grad()
        logits = forward(pairs)
        torch.nn.functional.cross_entropy(logits, labels).backward()
        outs.append(logits.detach())
        grads.append({n: q.grad.clone() for n, q in model.named_parameters()})
    assert (outs[0] - outs[1]).abs().max() <= 1e-12 * outs[1].abs().max()
    for name, g in grads[1].items():
        assert (grads[0][name] - g).abs().max() <= 1e-12 * g.abs().max().clamp_min(1e-30), name
    seen = []
    hooks = {n: (lambda x, name: seen.append(name)) for n in model.hook_points()}
    with torch.no_grad(), model.hooks(hooks):
        hooked = model.logits(pairs)
    assert sorted(seen) == sorted(model.hook_points()) and torch.allclose(hooked, outs[1])
    zero = {"hook_pre": lambda x, name: torch.zeros_like(x)}  # a replacing hook takes effect
    with torch.no_grad(), model.hooks(zero):
        assert torch.equal(model.logits(pairs), torch.zeros(len(pairs), p, dtype=torch.float64))
