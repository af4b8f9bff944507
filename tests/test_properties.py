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
