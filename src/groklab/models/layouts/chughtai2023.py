"""chughtai2023: the group-composition models of Chughtai et al. with their cfg.json (group,
group_parameter, frac_train, seed), on their numbering and their split:
- MLPs (`W_x` [n, e], `W_y` [n, e], `W` [2e, h], `W_U` [h, n], no biases), read as groklab's MLP
  with embed='separate', bias=False;
- transformers (a HookedTransformer state dict: `embed.W_E` [n+1, d], inputs `a b =` with `=` the
  token n, n outputs, causal, no LayerNorm, ReLU), read by the transformerlens layout; their
  `x_embed.W_E` / `y_embed.W_E` are copies of W_E kept for their metrics and are ignored."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from groklab.config import ModelConfig, TaskConfig
from groklab.errors import GroklabError
from groklab.models.layouts.common import Imported, check_ranks, need, plain, tensors
from groklab.tasks import Dataset, make_dataset

NAME = "chughtai2023"
NEEDS_CONFIG = True
CONFIG_NAME = "cfg.json"  # what its config JSON is called
GROUPS = {"SymmetricGroup": "S", "AlternatingGroup": "A", "DihedralGroup": "D",
          "CyclicGroup": "C"}


def group_name(config: dict, where: str) -> str:
    """The groklab group name (e.g. "S5") of a Chughtai et al. cfg.json."""
    family, param = config.get("group"), config.get("group_parameter")
    if not isinstance(family, str) or family not in GROUPS or not isinstance(param, int) \
            or isinstance(param, bool):
        raise GroklabError(f"{where}: group={family!r}, group_parameter={param!r}; allowed: "
                           f"{', '.join(GROUPS)} with an integer parameter")
    return f"{GROUPS[family]}{param}"


def _transformer(sd: dict, path: Path, config: dict) -> Imported:
    """Their HookedTransformer: the TransformerLens reader without the two metric copies."""
    from groklab.models.layouts import transformerlens

    group = group_name(config, str(path))
    sd = {k: v for k, v in sd.items() if not k.startswith(("x_embed.", "y_embed."))}
    imported = transformerlens.read(sd, path, None)
    from groklab.groups.elements import group_order

    n = group_order(group)
    if imported.p != n or not imported.model.eq_token:
        raise GroklabError(f"{path}: the config says {group} ({n} elements); the transformer's "
                           f"vocabulary gives p={imported.p}"
                           f"{'' if imported.model.eq_token else ' without an `=` token'}")
    return dataclasses.replace(imported, extras={"config": plain(config), "group": group})


def read(sd: dict, path: Path, config: dict | None) -> Imported:
    """Chughtai et al.'s group MLP: logits = relu(W_x[a] W[:e] + W_y[b] W[e:]) W_U; or their
    transformer (told apart by its `embed.W_E` key)."""
    if config is None:
        raise GroklabError(f"{path}: the chughtai2023 layout needs its config JSON: pass "
                           "--config cfg.json")
    sd = tensors(sd, path)
    if "embed.W_E" in sd:
        return _transformer(sd, path, config)
    need(sd, ["W_x", "W_y", "W", "W_U"], NAME, path)
    check_ranks(sd, {"W_x": 2, "W_y": 2, "W": 2, "W_U": 2}, NAME, path)
    w_x, w_y, w, w_u = sd["W_x"], sd["W_y"], sd["W"], sd["W_U"]
    n, e = w_x.shape
    h = w.shape[1]
    if w_y.shape != (n, e) or w.shape != (2 * e, h) or w_u.shape != (h, n):
        raise GroklabError(f"{path}: shapes W_x {tuple(w_x.shape)}, W_y {tuple(w_y.shape)}, W "
                           f"{tuple(w.shape)}, W_U {tuple(w_u.shape)} do not fit W_x [n, e], W_y "
                           "[n, e], W [2e, h], W_U [h, n]")
    group = group_name(config, str(path))
    from groklab.groups.elements import group_order

    if group_order(group) != n:
        raise GroklabError(f"{path}: the config says {group} ({group_order(group)} elements), the "
                           f"weights have {n} rows")
    model = ModelConfig(kind="mlp", d_model=e, d_mlp=h, embed="separate", bias=False)
    weights = {"W_E": w_x, "W_E_b": w_y, "W_in": w, "W_U": w_u}
    return Imported(weights, model, n, {"config": plain(config), "group": group})


def split(task_group: str, config: dict, where: str) -> tuple[Dataset, list[str]]:
    """The dataset of a Chughtai et al. model in their numbering, with their split:
    torch.manual_seed(seed); torch.randperm(n²) over pair index a·n + b; the first
    int(frac_train·n²) pairs train."""
    frac, seed = config.get("frac_train"), config.get("seed")
    if not isinstance(frac, (int, float)) or isinstance(frac, bool) or not 0 < frac < 1:
        raise GroklabError(f"{where}: frac_train={frac!r} must be a number in (0, 1)")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise GroklabError(f"{where}: seed={seed!r} must be an integer in [0, 2^63)")
    data = make_dataset(TaskConfig(name="group", group=task_group, element_order="chughtai2023",
                                   frac_train=float(frac)))
    n2 = len(data.pairs)
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(n2, generator=gen).numpy()
    n_train = int(frac * n2)
    data = dataclasses.replace(data, train_idx=np.sort(order[:n_train]),
                               test_idx=np.sort(order[n_train:]))
    return data, [f"split as Chughtai et al.: torch.randperm({n2}) with seed {seed}, first "
                  f"{n_train} pairs train"]


def dataset(imported: Imported, config: dict, where: str) -> tuple[Dataset, list[str]]:
    """The file's own task and split (its group, their numbering, their randperm)."""
    return split(imported.extras["group"], config, where)
