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
