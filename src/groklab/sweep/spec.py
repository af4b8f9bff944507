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
    [batch]             # optional: runs that differ only in seed, data_seed and weight_decay
    max_models = 8      # train together, up to this many per process (at most half the free
                        # memory's worth; default 1: every run alone, see sweep/batching.py)

Field names are the config's (`p`, `frac_train`, `weight_decay`, `seed`, ...; `task` for the task's
name). A run's id is a hash of its full config, so the same spec expands to the same ids and adding
an axis value adds runs while keeping the old ones.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path

from groklab.config import ModelConfig, RunConfig, TaskConfig, TrainConfig, override, preset
from groklab.errors import GroklabError

STAGES = ("train", "analyze", "extract", "llc")
DEFAULT_STAGES = ("train", "analyze", "extract")
TOP_KEYS = {"base", "axes", "zip", "stages", "slurm", "batch"}
BATCH_OPTIONS = ("max_models",)
MAX_MODELS = 4096  # models one batch may hold (as `groklab train --seeds`)
SECTIONS = {"task": TaskConfig, "model": ModelConfig, "train": TrainConfig}
ALIASES = {"task": ("task", "name")}
MAX_RUNS = 10_000  # runs one spec may expand to (checked before expanding)


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
    batch: dict = dataclasses.field(default_factory=dict)

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


def _scalar_problem(value) -> str | None:
    """Why a spec value is not a plain TOML scalar a config field can take (None: it is)."""
    if isinstance(value, bool) or isinstance(value, (int, str)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else "is not a finite number"
    return f"is a {type(value).__name__}, not a single value"


def _table(data: dict, name: str, where: str) -> dict:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise GroklabError(f"{where}: [{name}] must be a table, got {type(value).__name__} "
                           f"{value!r}")
    return dict(value)


def _check_fields(where: str, table: str, values: dict, index: dict, lists: bool) -> None:
    for key, value in values.items():
        if key not in index:
            raise GroklabError(f"{where}: [{table}] {key!r}: unknown config field; allowed: "
                               f"{', '.join(sorted(index))}")
        items = value if lists else [value]
        if lists and (not isinstance(value, list) or not value):
            raise GroklabError(f"{where}: [{table}] {key!r} must be a non-empty list of values, "
                               f"got {value!r}")
        for item in items:
            problem = _scalar_problem(item)
            if problem:
                raise GroklabError(f"{where}: [{table}] {key!r} = {item!r} {problem}")


def _stages(data: dict, where: str) -> tuple[str, ...]:
    stages = data.get("stages", list(DEFAULT_STAGES))
    if not isinstance(stages, list) or not all(isinstance(x, str) for x in stages) \
            or any(x not in STAGES for x in stages) or "train" not in stages:
        raise GroklabError(f"{where}: stages = {stages!r} must be a list that includes 'train', "
                           f"from {', '.join(STAGES)}")
    return tuple(stages)


def _batch(data: dict, where: str) -> dict:
    batch = _table(data, "batch", where)
    for key, value in batch.items():
        if key not in BATCH_OPTIONS:
            raise GroklabError(f"{where}: [batch] {key!r}: unknown option; allowed: "
                               f"{', '.join(BATCH_OPTIONS)}")
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_MODELS:
            raise GroklabError(f"{where}: [batch] max_models = {value!r} must be an integer from 1 "
                               f"to {MAX_MODELS}")
    return batch


def _size(axes: dict, zipped: dict) -> int:
    """How many runs the spec expands to, at most, computed without expanding it."""
    n = math.prod(len(v) for v in axes.values())
    return n * (len(next(iter(zipped.values()))) if zipped else 1)


def parse(path: str | Path) -> SweepSpec:
    """The spec at `path`, checked before anything expands: unknown keys and fields, tables and
    values of the wrong type, non-finite numbers, empty or ragged axes, duplicate axes, more than
    MAX_RUNS runs, and values the config rejects each give one GroklabError naming the field."""
    return parse_data(_read(Path(path)), str(path))


def parse_data(data: dict, where: str) -> SweepSpec:
    """parse() of a spec already read from TOML (`where` names it in errors)."""
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise GroklabError(f"{where}: unknown top-level key(s) {', '.join(map(repr, unknown))}; "
                           f"allowed: {', '.join(sorted(TOP_KEYS))}")
    index = field_index()
    base, axes, zipped = (_table(data, t, where) for t in ("base", "axes", "zip"))
    base_preset = base.pop("preset", None)
    if base_preset is not None and not isinstance(base_preset, str):
        raise GroklabError(f"{where}: [base] preset = {base_preset!r} must be a preset name")
    _check_fields(where, "base", base, index, lists=False)
    _check_fields(where, "axes", axes, index, lists=True)
    _check_fields(where, "zip", zipped, index, lists=True)
    both = sorted(set(axes) & set(zipped))
    if both:
        raise GroklabError(f"{where}: {', '.join(map(repr, both))} is both an axis and a zipped "
                           "list (duplicate axis)")
    lengths = {len(v) for v in zipped.values()}
    if len(lengths) > 1:
        raise GroklabError(f"{where}: [zip] lists must have one length, got "
                           + ", ".join(f"{k!r}: {len(v)}" for k, v in zipped.items()))
    if _size(axes, zipped) > MAX_RUNS:
        raise GroklabError(f"{where}: the spec expands to {_size(axes, zipped):,} runs; at most "
                           f"{MAX_RUNS:,} per sweep (split it into several sweeps)")
    stages = _stages(data, where)
    if base_preset is not None:
        preset(base_preset)  # a clear error for an unknown preset
    slurm = _table(data, "slurm", where)
    from groklab.sweep.slurm import check_options

    check_options(slurm, where)
    batch = _batch(data, where)
    spec = SweepSpec(base_preset, base, axes, zipped, stages, slurm, batch)
    expand(spec, where)  # every value is checked now, before anything runs
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
