"""clockpizza2023: Zhong et al.'s state dict (the nanda2023 matrices for each block, any number of
blocks) with its config JSON, run as their code runs it: no causal mask, the attention pattern
`rate·softmax + (1 − rate)` (the constant added to every entry: at rate 0 the output is the sum of
the value vectors), no LayerNorm, ReLU / GeLU (exact) / Tanh, inputs `a b` (or `a b =` with
`eqn_sign`), b read as token b + C with `diff_vocab`, the answers the first C outputs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from groklab.errors import GroklabError
from groklab.models.layouts import nanda2023
from groklab.models.layouts.common import Imported, plain

NAME = "clockpizza2023"
NEEDS_CONFIG = True
CONFIG_NAME = "config_<id>.json"  # what its config JSON is called
ACTS = {"relu": "relu", "gelu": "gelu", "tanh": "tanh"}  # their names, lower-cased -> groklab's
TYPES = (("diff_vocab", (bool,)), ("eqn_sign", (bool,)), ("attn_coeff", (int, float)),
         ("act_fn", (str,)), ("act_type", (str,)), ("C", (int,)), ("frac", (int, float)),
         ("n_layers", (int,)), ("d_model", (int,)), ("n_heads", (int,)))


def _check_types(config: dict, path: Path) -> None:
    for key, kinds in TYPES:
        value = config.get(key)
        if key in config and (not isinstance(value, kinds)
                              or (isinstance(value, bool) and bool not in kinds)):
            raise GroklabError(f"{path}: config {key}={value!r} must be "
                               f"{' or '.join(k.__name__ for k in kinds)}")


def _vocabulary(sd: dict, config: dict, path: Path) -> tuple[int, bool, bool]:
    """(C, diff_vocab, eqn_sign) checked against the embedding's V."""
    inner = sd.get("model", sd)
    w_e = inner.get("embed.W_E") if isinstance(inner, dict) else None
    diff, eqn = bool(config.get("diff_vocab", False)), bool(config.get("eqn_sign", False))
    if w_e is None or getattr(w_e, "dim", lambda: 0)() != 2:
        return 0, diff, eqn  # convert() names the missing key
    v = int(w_e.shape[1])
    c = config.get("C", (v - eqn) // (2 if diff else 1))
    expected = c * (2 if diff else 1) + (1 if eqn else 0)
    if v != expected:
        raise GroklabError(f"{path}: embed.W_E has {v} tokens; C={c}, diff_vocab={diff}, "
                           f"eqn_sign={eqn} give {expected}")
    return c, diff, eqn


def read(sd: dict, path: Path, config: dict | None) -> Imported:
    """Zhong et al.'s model file with its config JSON (C, attention rate, activation, vocabulary)."""
    if config is None:
        raise GroklabError(f"{path}: the clockpizza2023 layout needs its config JSON: pass "
                           "--config config_<id>.json")
    _check_types(config, path)
    rate = config.get("attn_coeff", 1.0)
    act_name = config.get("act_fn", config.get("act_type", "ReLU"))
    act = ACTS.get(str(act_name).lower())
    if act is None or not 0 <= rate <= 1:
        raise GroklabError(f"{path}: unsupported config act_fn={act_name!r} or attn_coeff={rate!r}; "
                           "allowed: ReLU, GeLU or Tanh, a rate in [0, 1]")
    c, diff, eqn = _vocabulary(sd, config, path)
    imported = nanda2023.convert(sd, path, eq_token=eqn, layout=NAME, p=c or None)
    if "n_layers" in config and config["n_layers"] != imported.model.n_layers:
        raise GroklabError(f"{path}: the config says n_layers={config['n_layers']}, the file has "
                           f"{imported.model.n_layers} blocks")
    model = replace(imported.model, attn_rate=float(rate), act=act, attn_mix="sum", causal=False,
                    embed="separate" if diff else "shared")
    return Imported(imported.weights, model, imported.p, {"config": plain(config)})
