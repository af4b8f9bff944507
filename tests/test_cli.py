import pytest

from conftest import groklab_cli
from test_train import TINY_FLAGS

BAD = [
    (["train", "--preset", "nope"], "nope"),
    (["train", "--task", "pow"], "pow"),
    (["train", "--frobnicate"], "--frobnicate"),
    (["train", "--p", "2"], "p=2"),
    (["train", "--task", "mul", "--p", "15"], "p=15"),
    (["train", "--frac-train", "1.5"], "frac_train=1.5"),
    (["train", "--lr", "-1"], "lr=-1"),
    (["train", "--epochs", "0"], "epochs=0"),
    (["train", "--p", "abc"], "abc"),
    (["train", "--threads", "0", "--epochs", "1"], "threads=0"),
    (["train", "--act", "quadratic"], "quadratic"),
    (["train", "--model", "rnn"], "rnn"),
    (["train", "--device", "tpu"], "tpu"),
    (["train", "--attn-rate", "2"], "attn_rate=2"),
    (["train", "--model", "mlp", "--attn-rate", "0.5"], "attn_rate"),
    (["train", "--relabel-seed", "-3"], "relabel_seed=-3"),
    (["train", "--relabel-seed", "x"], "x"),
    (["runs", "/nonexistent/dir"], "/nonexistent/dir"),
    ([], "command"),
]


@pytest.mark.parametrize("args, named", BAD)
def test_bad_input_is_one_line_exit_2(args, named, tmp_path):
    result = groklab_cli(*args, "--out", str(tmp_path / "r")) if args[:1] == ["train"] else \
        groklab_cli(*args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0] and "Traceback" not in result.stderr


def test_unwritable_out_directory(tmp_path):
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o500)
    result = groklab_cli("train", *TINY_FLAGS, "--epochs", "5", "--out", str(locked / "run"))
    locked.chmod(0o700)
    import os
    if os.geteuid() == 0:  # root writes anywhere; use a path under a regular file instead
        (tmp_path / "file").write_text("x")
        result = groklab_cli("train", *TINY_FLAGS, "--epochs", "5", "--out", str(tmp_path / "file" / "run"))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "run" in result.stderr


def test_train_then_runs_lists_it(tmp_path):
    out = tmp_path / "runs" / "tiny"
    result = groklab_cli("train", *TINY_FLAGS, "--epochs", "30", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "memorized at epoch" in result.stdout
    listing = groklab_cli("runs", str(tmp_path / "runs"))
    assert listing.returncode == 0
    assert "tiny" in listing.stdout and " add " in listing.stdout


def test_unwritable_output_paths_are_one_line_errors(tmp_path, tiny):
    from groklab.train import run

    result = run(tiny, tmp_path / "r", quiet=True)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for args in (["export", str(result.path), "-o", str(blocker / "tl")],
                 ["extract", str(result.path), "--no-curve", "-o", str(blocker / "p.py")]):
        r = groklab_cli(*args)
        assert r.returncode == 2, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and "cannot write" in r.stderr


def test_relabel_and_attention_flags_reach_the_config(tmp_path):
    import json

    out = tmp_path / "r"
    r = groklab_cli("train", "--out", str(out), *TINY_FLAGS, "--epochs", "5", "--relabel-seed",
                    "3", "--attn-rate", "0.25", "--no-eq-token", "--quiet")
    assert r.returncode == 0, r.stderr
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["task"]["relabel_seed"] == 3
    assert cfg["model"]["attn_rate"] == 0.25 and cfg["model"]["eq_token"] is False


@pytest.mark.parametrize("name", ["pizza", "clock"])
def test_zhong_presets_are_valid(name):
    from groklab.config import preset

    cfg = preset(name)
    assert cfg.task.p == 59 and cfg.task.frac_train == 0.8 and not cfg.model.eq_token
    assert cfg.model.attn_rate == (0.0 if name == "pizza" else 1.0)
    assert cfg.train.weight_decay == 2.0


HOSTILE_CONFIGS = {
    "p as a string": (("task", "p"), "abc", "p='abc' must be int"),
    "p as a bool": (("task", "p"), True, "p=True must be int"),
    "lr as a list": (("train", "lr"), [1], "lr=[1] must be float"),
    "negative seed": (("seed",), -1, "seed=-1 must be an integer in 0..2^64-1"),
    "seed beyond 64 bits": (("seed",), 2**70, "must be an integer in 0..2^64-1"),
    "p too large": (("task", "p"), 100003, "p=100003 is too large"),
    "absurd epochs": (("train", "epochs"), 10**12, "epochs=1000000000000 must lie in"),
    "section not an object": (("task",), 5, "not a groklab config"),
    "missing data seed": (("task", "data_seed"), None, "lacks task.data_seed"),
    "newer schema": (("schema_version",), 99, "written by a newer groklab"),
}


@pytest.mark.parametrize("case", list(HOSTILE_CONFIGS))
def test_hostile_config_json_is_one_line(tmp_path, case):
    import json

    from conftest import tiny_config

    keys, value, text = HOSTILE_CONFIGS[case]
    data = tiny_config().to_dict()
    target = data
    for k in keys[:-1]:
        target = target[k]
    if value is None:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "config.json").write_text(json.dumps(data))
    for command in (["analyze", str(tmp_path / "r")], ["extract", str(tmp_path / "r")]):
        r = groklab_cli(*command)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert text in r.stderr and "Traceback" not in r.stderr
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["config.json"]  # nothing made


def _main(*argv: str) -> int:
    from groklab.cli import main

    return main(list(argv))


@pytest.mark.parametrize("kind", ["cyclic", "group"])
def test_every_output_flag_is_honoured(tmp_path, kind):
    """Each command with each of its output flags writes where it is told (and --json of a run
    replaces RUN/analysis.json, as extract's --json replaces RUN/program.json)."""
    from conftest import group_handbuilt_run, handbuilt_run

    store = (handbuilt_run if kind == "cyclic" else group_handbuilt_run)(tmp_path / "run")
    run, out = str(store.path), tmp_path / "out"
    assert _main("analyze", run, "--json", str(out / "a.json"), "--quiet") == 0
    assert (out / "a.json").is_file() and not store.file("analysis.json").exists()
    assert _main("analyze", run, "--quiet", "--no-progress") == 0
    assert _main("extract", run, "-o", str(out / "p.py"), "--json", str(out / "p.json"),
                 "--quiet", "--no-curve") == 0
    assert (out / "p.py").is_file() and (out / "p.json").is_file()
    assert not store.file("program.py").exists() and not store.file("program.json").exists()
    assert _main("report", run, "-o", str(out / "r.html")) == 0 and (out / "r.html").is_file()
    if kind == "group":
        return  # a group MLP has no TransformerLens layout
    assert _main("export", run, "-o", str(out / "tl")) == 0
    model = out / "tl" / "model.safetensors"
    assert _main("analyze", str(model), "--json", str(out / "fa.json")) == 0
    assert (out / "fa.json").is_file() and not model.with_suffix(".analysis.json").exists()
    assert _main("extract", str(model), "-o", str(out / "fp.py"), "--json",
                 str(out / "fp.json")) == 0
    assert (out / "fp.py").is_file() and (out / "fp.json").is_file()


def test_a_full_disk_while_saving_tensors_is_one_line(tmp_path, monkeypatch):
    """safetensors raises its own error (not an OSError) when the disk fills: one line."""
    import torch
    from safetensors import SafetensorError

    import groklab.store as store
    from groklab.errors import GroklabError

    def full(*args, **kwargs):
        raise SafetensorError("Error while serializing: IoError(File too large)")

    monkeypatch.setattr(store, "save_file", full)
    with pytest.raises(GroklabError, match="cannot write .*disk full"):
        store.save_tensors(tmp_path / "x.safetensors", {"w": torch.zeros(2)}, {})
    assert list(tmp_path.iterdir()) == []  # nothing half-written
