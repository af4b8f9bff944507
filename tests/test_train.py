import json
import signal
import subprocess
import sys
import time

import pytest

from conftest import groklab_cli, tiny_config
from groklab.errors import GroklabError
from groklab.store import RunStore
from groklab.train import run

TINY_FLAGS = ["--task", "add", "--p", "13", "--frac-train", "0.5", "--data-seed", "1",
              "--d-model", "16", "--n-heads", "2", "--d-head", "8", "--d-mlp", "32",
              "--lr", "3e-3", "--eval-every", "5", "--ckpt-every", "20", "--ckpt-log-points", "5",
              "--quiet", "--threads", "1"]


def test_same_config_gives_bit_identical_metrics(tmp_path, tiny):
    a = run(tiny, tmp_path / "a", quiet=True)
    b = run(tiny, tmp_path / "b", quiet=True)
    rows_a, rows_b = RunStore(a.path).read_metrics(), RunStore(b.path).read_metrics()
    assert rows_a == rows_b and len(rows_a) > 5


def test_run_directory_layout_and_summary(tmp_path, tiny):
    result = run(tiny, tmp_path / "r", quiet=True)
    store = RunStore(result.path)
    assert store.read_config() == tiny
    config = json.loads(store.config_path.read_text())
    assert set(config["versions"]) >= {"groklab", "torch"}
    assert store.checkpoint_epochs()[0] == 0 and store.checkpoint_epochs()[-1] == 60
    weights = store.load_checkpoint(60)
    assert "embed.W_E" in weights
    summary = store.read_summary()
    assert summary["epochs"] == 60 and "grokked_epoch" in summary and "memorized_epoch" in summary
    with store.writer():  # the lock was released (its file may stay)
        pass


def test_checkpoint_schedule_is_dense_over_a_long_run():
    from groklab.config import preset
    from groklab.train.callbacks import checkpoint_schedule

    epochs = sorted(checkpoint_schedule(preset("nanda2023").train))
    assert len([e for e in epochs if e <= 14000]) >= 100
    assert epochs[:5] == [0, 1, 2, 3, 4]  # log-spaced: dense early


def test_resume_after_kill_equals_uninterrupted_run(tmp_path):
    flags = TINY_FLAGS + ["--epochs", "800"]
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "groklab.cli", "train", *flags, "--out",
                             str(killed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = RunStore(killed)
    deadline = time.time() + 60
    while time.time() < deadline and not (store.state_path.exists() and len(store.read_metrics()) > 40):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "training finished before it could be killed"
    rows_at_kill = len(store.read_metrics())
    assert rows_at_kill > 40
    resumed = groklab_cli("train", *flags, "--out", str(killed))
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from epoch" in resumed.stdout
    fresh = groklab_cli("train", *flags, "--out", str(tmp_path / "fresh"))
    assert fresh.returncode == 0, fresh.stderr
    assert rows_at_kill < len(RunStore(tmp_path / "fresh").read_metrics())
    assert store.read_metrics() == RunStore(tmp_path / "fresh").read_metrics()
    assert store.checkpoint_epochs() == RunStore(tmp_path / "fresh").checkpoint_epochs()


@pytest.mark.parametrize("kind", ["ema", "ma"])
def test_grokfast_filters_train_and_resume_exactly(tmp_path, kind):
    """A run stopped at 40 epochs and extended to 60 ends with the weights, bit for bit, of one
    trained straight to 60: the filter's state (EMA, or the window of gradients) is resumed."""
    import torch

    straight = run(tiny_config(epochs=60, grokfast=kind, grokfast_window=5), tmp_path / "straight",
                   quiet=True)
    run(tiny_config(epochs=40, grokfast=kind, grokfast_window=5), tmp_path / "resumed", quiet=True)
    resumed = run(tiny_config(epochs=60, grokfast=kind, grokfast_window=5), tmp_path / "resumed",
                  quiet=True)
    assert resumed.resumed_from == 40
    a = RunStore(straight.path).load_checkpoint(60)
    b = RunStore(resumed.path).load_checkpoint(60)
    assert all(torch.equal(a[k], b[k]) for k in a)
    plain = run(tiny_config(epochs=60), tmp_path / "plain", quiet=True)
    c = RunStore(plain.path).load_checkpoint(60)
    assert not all(torch.equal(a[k], c[k]) for k in a)  # the filter did change the training


def test_wall_time_counts_every_segment(tmp_path):
    first = run(tiny_config(epochs=40), tmp_path / "r", quiet=True)
    _, _, wall = RunStore(first.path).load_state()
    assert wall > 0
    resumed = run(tiny_config(epochs=60), tmp_path / "r", quiet=True)
    assert resumed.resumed_from == 40
    assert resumed.summary["wall_s"] >= round(wall, 2)


def test_grokfast_filter_known_answers():
    """EMA: h ← αh + (1−α)g, g ← g + λh (h starts at the first gradient); MA: g ← g + λ·mean of
    the last `window` gradients, once the window is full."""
    import torch

    from groklab.config import TrainConfig
    from groklab.train.optim import Grokfast

    p = torch.nn.Parameter(torch.zeros(1))
    cfg = TrainConfig(grokfast="ema", grokfast_alpha=0.5, grokfast_lamb=2.0)
    f = Grokfast([p], cfg)
    out = []
    for g in (1.0, 3.0):
        p.grad = torch.tensor([g])
        f.apply()
        out.append(p.grad.item())
    assert out == [1.0 + 2.0 * 1.0, 3.0 + 2.0 * (0.5 * 1.0 + 0.5 * 3.0)]
    f = Grokfast([p], TrainConfig(grokfast="ma", grokfast_window=2, grokfast_lamb=5.0))
    out = []
    for g in (1.0, 3.0, 5.0):
        p.grad = torch.tensor([g])
        f.apply()
        out.append(p.grad.item())
    assert out == [1.0, 3.0 + 5.0 * 2.0, 5.0 + 5.0 * 4.0]


def test_corrupt_checkpoint_is_named(tmp_path, tiny):
    result = run(tiny, tmp_path / "r", quiet=True)
    store = RunStore(result.path)
    path = store.checkpoint_path(60)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(GroklabError, match="epoch_0000060.safetensors"):
        store.load_checkpoint(60)


_HOLD = """
import sys, time
from groklab.store import RunStore
with RunStore(sys.argv[1]).writer():
    print("held", flush=True)
    time.sleep(30)
"""


def test_second_writer_is_refused_and_a_dead_holder_does_not_block(tmp_path, tiny):
    store = RunStore(tmp_path / "r")
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(store.path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(GroklabError, match=f"in use by another groklab process \\(pid "
                                               f"{holder.pid}\\)"):
            run(tiny, store.path, quiet=True)
    finally:
        holder.kill()  # SIGKILL: no clean-up runs, the OS drops the lock
        holder.communicate()
    assert store.lock_path.exists()  # the file stays; the lock does not
    run(tiny, store.path, quiet=True)


@pytest.mark.parametrize("command", ["train", "analyze"])
def test_two_writers_started_together_exactly_one_proceeds(tmp_path, tiny, command):
    """Two live processes at the same instant: one runs, the other gets the one-line refusal."""
    out = tmp_path / "r"
    if command == "analyze":
        run(tiny, out, quiet=True)
        args = ["analyze", str(out), "--quiet"]
    else:
        args = ["train", "--out", str(out), "--task", "add", "--p", "13", "--d-model", "16",
                "--n-heads", "2", "--d-head", "8", "--d-mlp", "32", "--epochs", "3000", "--quiet"]
    procs = [subprocess.Popen([sys.executable, "-m", "groklab.cli", *args],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    results = [(p.returncode, err) for p, (_, err) in zip(procs, outputs)]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    refusal = next(err for code, err in results if code == 2)
    assert len(refusal.strip().splitlines()) == 1 and "in use by another groklab" in refusal
    if command == "train":
        epochs = [json.loads(line)["epoch"]
                  for line in (out / "metrics.jsonl").read_text().splitlines()]
        assert len(epochs) == len(set(epochs))  # no duplicated rows


def test_overwrite_clears_every_artefact(tmp_path, tiny):
    from groklab.store import ARTEFACTS, CHECKPOINT_DIR, CONFIG_FILE, LOCK_FILE

    path = tmp_path / "r"
    run(tiny, path, quiet=True)
    for name in ARTEFACTS:  # as if every later stage had run, plus a killed writer's leftovers
        (path / name).write_text("old")
    (path / ".metrics.jsonl.abc.tmp").write_text("torn")
    (path / CHECKPOINT_DIR / ".epoch_0000001.safetensors.x.tmp").write_text("torn")
    result = run(tiny_config(epochs=20, lr=1e-2), path, quiet=True, overwrite=True)
    left = sorted(p.name for p in result.path.iterdir())
    assert left == sorted([CONFIG_FILE, LOCK_FILE, CHECKPOINT_DIR, "metrics.jsonl",
                           "state.safetensors", "summary.json"])
    assert all((path / n).read_text() != "old" for n in ("metrics.jsonl", "summary.json"))
    assert not list((path / CHECKPOINT_DIR).glob(".*"))


def test_different_config_is_refused_unless_overwrite(tmp_path, tiny):
    run(tiny, tmp_path / "r", quiet=True)
    other = tiny_config(epochs=60, lr=1e-2)
    with pytest.raises(GroklabError, match="train.lr"):
        run(other, tmp_path / "r", quiet=True)
    result = run(other, tmp_path / "r", quiet=True, overwrite=True)
    assert RunStore(result.path).read_config().train.lr == 1e-2


def test_longer_epochs_extend_a_finished_run(tmp_path):
    run(tiny_config(epochs=40), tmp_path / "r", quiet=True)
    extended = run(tiny_config(epochs=60), tmp_path / "r", quiet=True)
    assert extended.resumed_from == 40
    full = run(tiny_config(epochs=60), tmp_path / "full", quiet=True)
    a = {r["epoch"]: r for r in RunStore(extended.path).read_metrics()}
    b = {r["epoch"]: r for r in RunStore(full.path).read_metrics()}
    assert a[60] == b[60]
    assert all(a[e] == b[e] for e in set(a) & set(b))  # the log-spaced epochs depend on `epochs`


def test_torn_metrics_lines_and_corrupt_state(tmp_path, tiny):
    from groklab.errors import GroklabWarning

    result = run(tiny, tmp_path / "r", quiet=True)
    store = RunStore(result.path)
    text = store.metrics_path.read_text()
    n = len(text.splitlines())
    store.metrics_path.write_text(text + '{"epoch": 65, "loss/tr')  # killed mid-row
    with pytest.warns(GroklabWarning, match=f"line {n + 1} is torn"):
        assert len(store.read_metrics()) == n
    lines = text.splitlines()
    lines[3] = lines[3][:20]
    store.metrics_path.write_text("\n".join(lines) + "\n")
    with pytest.raises(GroklabError, match="line 4 is not a metrics row"):
        store.read_metrics()
    store.metrics_path.write_text(text)
    from safetensors.torch import save_file
    import torch

    save_file({"model.nothing": torch.zeros(2)}, str(store.state_path), metadata={"epoch": "60"})
    r = groklab_cli("train", "--out", str(store.path), *TINY_FLAGS, "--epochs", "80")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "does not match this run's model" in r.stderr
    save_file({"model.nothing": torch.zeros(2)}, str(store.state_path))  # no metadata
    r = groklab_cli("train", "--out", str(store.path), *TINY_FLAGS, "--epochs", "80")
    assert r.returncode == 2 and "no epoch in its metadata" in r.stderr
