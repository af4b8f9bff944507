"""The sweep spec (sweep.toml) and its expansion into runs with stable ids.

    [base]              # a preset and overrides, by config field name (as the CLI flags)
    preset = "mlp"
    p = 23
    [axes]              # a grid: every combination of these lists
    seed = [0, 1]
    weight_decay = [0.5, 1.0]
    [zip]               # optional: lists of one length, taken together (row i of each)
    lr = [1e-3, 3e-3]
    frac_train = [0.3, 0.5]
    stages = ["train", "analyze", "extract"]   # optional, top level (the default); also "llc"
                                               # (the LLC of the final checkpoint, defaults)

Field names are the config's (`p`, `frac_train`, `weight_decay`, `seed`, ...; `task` for the task's
name). A run's id is a hash of its full config, so the same spec expands to the same ids and adding
an axis value adds runs while keeping the old ones.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path

from groklab.config import ModelConfig, RunConfig, TaskConfig, TrainConfig, override, preset
from groklab.errors import GroklabError

STAGES = ("train", "analyze", "extract", "llc")
DEFAULT_STAGES = ("train", "analyze", "extract")
TOP_KEYS = {"base", "axes", "zip", "stages", "slurm"}
SECTIONS = {"task": TaskConfig, "model": ModelConfig, "train": TrainConfig}
ALIASES = {"task": ("task", "name")}


def field_index() -> dict[str, tuple[str, str]]:
    """Config field name -> (section, field); `seed` is top level; `task` names the task."""
    index = {f.name: (s, f.name) for s, cls in SECTIONS.items() for f in dataclasses.fields(cls)
             if f.name != "name"}
    return {**index, **ALIASES, "seed": ("", "seed")}


@dataclass(frozen=True)
class SweepRun:
    run_id: str
    config: RunConfig
    swept: dict  # field -> value, the axis values of this run


@dataclass(frozen=True)
class SweepSpec:
    base_preset: str | None
    base: dict
    axes: dict
    zipped: dict
    stages: tuple[str, ...]
    slurm: dict

    @property
    def swept_fields(self) -> list[str]:
        return list(self.axes) + list(self.zipped)


def _read(path: Path) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the same parser, as a package
        import tomli as tomllib

    try:
        return tomllib.loads(Path(path).read_text())
    except OSError as e:
        raise GroklabError(f"cannot read sweep spec {path}: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise GroklabError(f"{path} is not valid TOML: {e}") from None


def parse(path: str | Path) -> SweepSpec:
    """The spec at `path`, checked: unknown keys and fields, empty or ragged axes, duplicate axes
    and values the config rejects each give one GroklabError naming the field."""
    data = _read(Path(path))
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise GroklabError(f"{path}: unknown top-level key(s) {', '.join(unknown)}; allowed: "
                           f"{', '.join(sorted(TOP_KEYS))}")
    index = field_index()
    base = dict(data.get("base", {}))
    base_preset = base.pop("preset", None)
    axes, zipped = dict(data.get("axes", {})), dict(data.get("zip", {}))
    for table, values in (("base", base), ("axes", axes), ("zip", zipped)):
        for key in values:
            if key not in index:
                raise GroklabError(f"{path}: [{table}] {key}: unknown config field; allowed: "
                                   f"{', '.join(sorted(index))}")
    for table, values in (("axes", axes), ("zip", zipped)):
        for key, v in values.items():
            if not isinstance(v, list) or not v:
                raise GroklabError(f"{path}: [{table}] {key} must be a non-empty list of values")
    both = sorted(set(axes) & set(zipped))
    if both:
        raise GroklabError(f"{path}: {', '.join(both)} is both an axis and a zipped list "
                           "(duplicate axis)")
    lengths = {len(v) for v in zipped.values()}
    if len(lengths) > 1:
        raise GroklabError(f"{path}: [zip] lists must have one length, got "
                           + ", ".join(f"{k}: {len(v)}" for k, v in zipped.items()))
    stages = tuple(data.get("stages", DEFAULT_STAGES))
    bad = [s for s in stages if s not in STAGES]
    if bad or "train" not in stages:
        raise GroklabError(f"{path}: stages {list(stages)} must include train and come from "
                           f"{', '.join(STAGES)}")
    if base_preset is not None:
        preset(base_preset)  # a clear error for an unknown preset
    slurm = data.get("slurm", {})
    if not isinstance(slurm, dict):
        raise GroklabError(f"{path}: [slurm] must be a table of options")
    from groklab.sweep.slurm import check_options

    check_options(slurm, str(path))
    spec = SweepSpec(base_preset, base, axes, zipped, stages, dict(slurm))
    expand(spec, str(path))  # every value is checked now, before anything runs
    return spec


def _changes(values: dict) -> dict:
    index = field_index()
    changes: dict = {"task": {}, "model": {}, "train": {}}
    for key, value in values.items():
        section, name = index[key]
        if section:
            changes[section][name] = value
        else:
            changes[name] = value
    return changes


def run_id(config: RunConfig) -> str:
    canonical = json.dumps(config.to_dict(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def expand(spec: SweepSpec, where: str = "sweep spec") -> list[SweepRun]:
    """Every run of the spec, in a stable order."""
    base_cfg = preset(spec.base_preset) if spec.base_preset else RunConfig()
    grid_keys = list(spec.axes)
    grid = list(itertools.product(*(spec.axes[k] for k in grid_keys))) or [()]
    zip_keys = list(spec.zipped)
    rows = list(zip(*(spec.zipped[k] for k in zip_keys))) if zip_keys else [()]
    runs, seen = [], set()
    for point in grid:
        for row in rows:
            swept = {**dict(zip(grid_keys, point)), **dict(zip(zip_keys, row))}
            try:
                cfg = override(base_cfg, _changes({**spec.base, **swept}))
            except GroklabError as e:
                raise GroklabError(f"{where}: {e}") from None
            except TypeError as e:
                raise GroklabError(f"{where}: a value has the wrong type ({e})") from None
            rid = run_id(cfg)
            if rid not in seen:
                seen.add(rid)
                runs.append(SweepRun(rid, cfg, swept))
    return runs
