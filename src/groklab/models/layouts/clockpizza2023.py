"""clockpizza2023: Zhong et al.'s state dict (the nanda2023 matrices, two input tokens `a b`, no `=`,
vocabulary p) with its config JSON (`C` = p, `attn_coeff` = the attention rate, `act_fn`); a config
with `diff_vocab` true (separate token ids for a and b) is refused."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from groklab.errors import GroklabError
from groklab.models.layouts import nanda2023
from groklab.models.layouts.common import Imported, plain

NAME = "clockpizza2023"
NEEDS_CONFIG = True
CONFIG_NAME = "config_<id>.json"  # what its config JSON is called


def read(sd: dict, path: Path, config: dict | None) -> Imported:
    """Zhong et al.'s model file with its config JSON (p, attention rate, activation)."""
    if config is None:
        raise GroklabError(f"{path}: the clockpizza2023 layout needs its config JSON: pass "
                           "--config config_<id>.json")
    for key, kinds in (("diff_vocab", (bool,)), ("attn_coeff", (int, float)), ("act_fn", (str,)),
                       ("C", (int,)), ("frac", (int, float))):
        value = config.get(key)
        if key in config and (not isinstance(value, kinds)
                              or (isinstance(value, bool) and bool not in kinds)):
            raise GroklabError(f"{path}: config {key}={value!r} must be "
                               f"{' or '.join(k.__name__ for k in kinds)}")
    if config.get("diff_vocab"):
        raise GroklabError(f"{path}: diff_vocab=true (separate token ids for a and b) is not "
                           "supported; groklab reads models whose a and b share the vocabulary")
    rate = config.get("attn_coeff", 1.0)
    act = str(config.get("act_fn", "ReLU")).lower()
    if act not in ("relu", "gelu") or not 0 <= rate <= 1:
        raise GroklabError(f"{path}: unsupported config act_fn={config.get('act_fn')!r} or "
                           f"attn_coeff={rate!r}; allowed: ReLU or GeLU, a rate in [0, 1]")
    imported = nanda2023.convert(sd, path, eq_token=False, layout=NAME)
    if "C" in config and config["C"] != imported.p:
        raise GroklabError(f"{path}: the config says C={config['C']}, the weights say p="
                           f"{imported.p}")
    model = replace(imported.model, attn_rate=float(rate), act=act)
    return Imported(imported.weights, model, imported.p, {"config": plain(config)})
