"""Hostile input as a property: any value of any config field, from JSON or from the command line,
either builds a config or gives groklab's one-line error, never another exception."""

import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groklab.cli import _flag, build_parser, config_from_args
from groklab.config import ModelConfig, RunConfig, TaskConfig, TrainConfig
from groklab.errors import GroklabError

SECTIONS = {"task": TaskConfig, "model": ModelConfig, "train": TrainConfig}
FIELDS = [(s, f) for s, cls in SECTIONS.items() for f in dataclasses.fields(cls)]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                               max_size=3), max_leaves=6)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(FIELDS + [("", "seed"), ("", "preset"), ("", "extra")]),
       value=JSON_VALUES)
def test_any_config_json_value_builds_or_is_a_groklab_error(field, value):
    section, f = field
    data = RunConfig().to_dict()
    if section:
        data[section][f.name] = value
    else:
        data[f] = value
    try:
        cfg = RunConfig.from_dict(data)
    except GroklabError as e:
        assert "\n" not in str(e)
        return
    assert RunConfig.from_dict(cfg.to_dict()) == cfg  # what builds round-trips


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(FIELDS), text=st.text(max_size=12) | st.from_regex(
    r"-?[0-9]{1,25}(\.[0-9]{0,5})?(e-?[0-9]{1,3})?", fullmatch=True) | st.sampled_from(
    ["inf", "-inf", "nan", "1e999", "0", "-0", "True", "</script>", "'\"\"\"", "\\", "\n"]))
def test_any_cli_flag_value_builds_or_exits_2(field, text):
    _, f = field
    parser = build_parser()
    flag = _flag(f)
    argv = ["train", flag] if f.type in ("bool", bool) else ["train", f"{flag}={text}"]
    try:
        args = parser.parse_args(argv)
        config_from_args(args)
    except SystemExit as e:  # argparse's error, through groklab's one-line Parser.error
        assert e.code == 2
    except GroklabError as e:
        assert "\n" not in str(e)


SPEC_KEYS = ["base", "axes", "zip", "stages", "slurm", "preset", "seed", "lr", "p", "task",
             "d_mlp", "frac_train", "mem_gb", "time_min", "extra", "weight_decay", "a\nb"]
TOML_VALUES = st.recursive(
    st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(SPEC_KEYS), inner, max_size=3), max_leaves=8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.dictionaries(st.sampled_from(SPEC_KEYS), TOML_VALUES, max_size=4))
def test_any_sweep_spec_parses_or_is_a_groklab_error(data):
    from groklab.sweep.spec import expand, parse_data

    try:
        spec = parse_data(data, "spec.toml")
    except GroklabError as e:
        assert "\n" not in str(e)
        return
    assert expand(spec)  # what parses expands


PIZZA_KEYS = ["C", "attn_coeff", "act_fn", "frac", "diff_vocab", "n_layers", "eqn_sign"]
CHUGHTAI_KEYS = ["group", "group_parameter", "frac_train", "seed", "lr"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.sampled_from(["clockpizza2023", "chughtai2023"]),
       config=st.dictionaries(st.sampled_from(PIZZA_KEYS + CHUGHTAI_KEYS), JSON_VALUES,
                              max_size=5),
       base=st.booleans())
def test_any_foreign_config_reads_or_is_a_groklab_error(which, config, base):
    """A layout's config JSON, valid or not, with well-formed tensors: read, or one line."""
    from pathlib import Path

    import surfaces
    from groklab.models.layouts import READERS

    sd = surfaces._pizza() if which == "clockpizza2023" else surfaces.CHUGHTAI
    start = surfaces.PIZZA_CFG if which == "clockpizza2023" else surfaces.CHUGHTAI_CFG
    config = {**start, **config} if base else config
    reader = READERS[which]
    try:
        imported = reader.read(dict(sd), Path("m.safetensors"), config)
        if hasattr(reader, "dataset"):
            reader.dataset(imported, config, "cfg.json")
    except GroklabError as e:
        assert "\n" not in str(e)
