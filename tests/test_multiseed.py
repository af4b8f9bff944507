"""Many models in one process: each model of a batch is its single run, bit for bit (weights,
metric rows, checkpoints, summary), early stops per model, resumes after a kill, and bad input is
one line."""

import dataclasses
import signal
import subprocess
import sys
import time

import pytest
import torch

from conftest import tiny_config
from groklab.errors import GroklabError
from groklab.store import RunStore
from groklab.train import run
from groklab.train.multiseed import check_batchable, estimate_bytes, parse_seeds, train_many

TINY = ["--task", "add", "--p", "13", "--frac-train", "0.5", "--d-model", "16", "--n-heads", "2",
        "--d-head", "8", "--d-mlp", "32", "--lr", "3e-3", "--eval-every", "5", "--ckpt-every",
        "20", "--stop-acc", "0.1", "--stop-patience", "10", "--grokfast", "ema", "--quiet"]


def _configs(n: int, **train):
    base = tiny_config(epochs=400, stop_patience=10, stop_acc=0.1, **train)
    return [dataclasses.replace(base, seed=s, task=dataclasses.replace(base.task, data_seed=10 + s))
            for s in range(n)]


def _same_run(a, b) -> bool:
    a, b = RunStore(a), RunStore(b)
    if a.read_metrics() != b.read_metrics() or a.checkpoint_epochs() != b.checkpoint_epochs():
        return False
    for e in a.checkpoint_epochs():
        x, y = a.load_checkpoint(e), b.load_checkpoint(e)
        if x.keys() != y.keys() or not all(torch.equal(x[k], y[k]) for k in x):
            return False
    strip = lambda s: {k: v for k, v in s.items() if k != "wall_s"}  # noqa: E731
    return strip(a.read_summary()) == strip(b.read_summary())


@pytest.mark.parametrize("grokfast,forward", [("none", "auto"), ("ema", "auto"), ("ema", "vmap")])
def test_each_model_of_a_batch_is_its_single_run(tmp_path, grokfast, forward):
    """auto is the loop on a CPU; vmap is bit for bit at these shapes (not at every shape: see
    test_the_loop_forward_is_bit_for_bit_where_vmap_rounds_otherwise)."""
    configs = _configs(4, grokfast=grokfast)
    for i, c in enumerate(configs):
        run(c, tmp_path / f"single_{i}", quiet=True)
    train_many(configs, [tmp_path / f"batch_{i}" for i in range(4)], quiet=True, forward=forward)
    stops = [RunStore(tmp_path / f"single_{i}").read_summary()["epochs"] for i in range(4)]
    assert len(set(stops)) > 1  # the models stop early at different epochs
    for i in range(4):
        assert _same_run(tmp_path / f"single_{i}", tmp_path / f"batch_{i}"), i


def test_the_loop_forward_is_bit_for_bit_where_vmap_rounds_otherwise():
    """The demo transformer's widths with nonzero biases: vmap's addmm adds the bias after a batched
    matmul (one rounding away from the single addmm), the loop runs each model's own kernels, so
    its logits and gradients are the single model's bit for bit; vmap's are close."""
    from groklab.models import build_model
    from groklab.train.loop import cross_entropy
    from groklab.train.multiseed import BatchTrainer, batch_forward

    base = tiny_config()
    config = dataclasses.replace(base, model=dataclasses.replace(base.model, d_model=64, n_heads=4,
                                                                 d_head=16, d_mlp=256))
    gen = torch.Generator().manual_seed(0)
    models = [build_model(config.model, 13, s) for s in range(3)]
    with torch.no_grad():
        for m in models:
            for p in m.parameters():
                p.add_(0.1 * torch.randn(p.shape, generator=gen))
    pairs = torch.cartesian_prod(torch.arange(13), torch.arange(13))
    labels = pairs.sum(1) % 13
    single = [m.logits(pairs) for m in models]
    for m, lg in zip(models, single):
        cross_entropy(lg, labels, "float64").backward()
    out = {}
    for forward in ("loop", "vmap"):
        trainer = BatchTrainer(models, [config] * 3, forward)
        logits = trainer.logits(pairs.expand(3, -1, -1))
        sum(cross_entropy(lg, labels, "float64") for lg in logits).backward()
        grads = {n: p.grad for n, p in trainer.stacked().items()}
        out[forward] = [(logits[k], {n: g[k] for n, g in grads.items()}) for k in range(3)]
    for k, m in enumerate(models):
        logits, grads = out["loop"][k]
        assert torch.equal(logits, single[k])
        assert all(torch.equal(grads[n], p.grad) for n, p in m.named_parameters())
        assert torch.allclose(out["vmap"][k][0], single[k], rtol=0, atol=1e-5)
    assert batch_forward("auto", torch.device("cpu")) == "loop"
    assert batch_forward("auto", torch.device("meta")) == "vmap"
    with pytest.raises(GroklabError, match="'pmap' is not one of auto, loop, vmap"):
        batch_forward("pmap", torch.device("cpu"))


def test_one_model_batch_equals_the_single_trainer(tmp_path):
    (config,) = _configs(1)
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, epochs=200,
                                                                   stop_patience=0))
    run(config, tmp_path / "single", quiet=True)
    train_many([config], [tmp_path / "batch"], quiet=True)
    assert _same_run(tmp_path / "single", tmp_path / "batch")


def test_killed_batch_resumes_to_the_uninterrupted_result(tmp_path):
    """--seeds through the CLI, killed with SIGKILL once the first states are saved, then run
    again: every run equals its uninterrupted single run."""
    args = [sys.executable, "-m", "groklab.cli", "train", *TINY, "--epochs", "400", "--seeds",
            "0-2", "--out", str(tmp_path / "killed")]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    state = tmp_path / "killed" / "seed_2" / "state.safetensors"
    while time.time() < deadline and not state.exists():
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert subprocess.run(args, capture_output=True).returncode == 0
    for s in range(3):
        single = subprocess.run([sys.executable, "-m", "groklab.cli", "train", *TINY, "--epochs",
                                 "400", "--seed", str(s), "--out", str(tmp_path / f"single_{s}")],
                                capture_output=True)
        assert single.returncode == 0, single.stderr
        assert _same_run(tmp_path / f"single_{s}", tmp_path / "killed" / f"seed_{s}"), s


@pytest.mark.parametrize("forward", ["loop", "vmap"])
def test_cli_batch_forward(tmp_path, forward):
    """train --seeds --batch-forward: either forward trains the batch, each run its single run."""
    common = [sys.executable, "-m", "groklab.cli", "train", *TINY, "--epochs", "40"]
    r = subprocess.run([*common, "--seeds", "0-1", "--batch-forward", forward, "--out",
                        str(tmp_path / "batch")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([*common, "--seed", "1", "--out", str(tmp_path / "single")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert _same_run(tmp_path / "single", tmp_path / "batch" / "seed_1")


@pytest.mark.parametrize("text", ["", "a", "-1", "0,0", "3-1", "0-99999", "1,,2", "\u0665"])
def test_bad_seed_lists_are_one_line(text):
    with pytest.raises(GroklabError) as e:
        parse_seeds(text)
    assert "\n" not in str(e.value) and "--seeds" in str(e.value)


def test_seed_lists():
    assert parse_seeds("0-3") == [0, 1, 2, 3] and parse_seeds("5, 1,7-8") == [5, 1, 7, 8]


def test_mixed_shapes_and_too_many_models_are_refused(tmp_path):
    a, b = _configs(2)
    wider = dataclasses.replace(b, model=dataclasses.replace(b.model, d_mlp=64))
    with pytest.raises(GroklabError, match="differ only in their seeds and optimizer settings .*; these differ in model"):
        check_batchable([a, wider])
    from groklab.config import preset

    big = preset("nanda2023")
    need = estimate_bytes(big, 4096)
    assert need > 500 * 2**30  # far beyond this machine: refused before anything is allocated
    r = subprocess.run([sys.executable, "-m", "groklab.cli", "train", "--preset", "nanda2023",
                        "--seeds", "0-4095", "--max-models", "4096", "--out", str(tmp_path / "big")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "GiB" in r.stderr and "--max-models" in r.stderr and not (tmp_path / "big").exists()
    r = subprocess.run([sys.executable, "-m", "groklab.cli", "train", *TINY, "--max-models", "2",
                        "--out", str(tmp_path / "one")], capture_output=True, text=True)
    assert r.returncode == 2 and "needs --seeds" in r.stderr and not (tmp_path / "one").exists()
    r = subprocess.run([sys.executable, "-m", "groklab.cli", "train", *TINY, "--batch-forward",
                        "vmap", "--out", str(tmp_path / "one")], capture_output=True, text=True)
    assert r.returncode == 2 and "--batch-forward vmap needs --seeds" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "one").exists()


def test_batches_are_sized_from_memory(monkeypatch):
    """As many models per batch as the device's share of free memory holds; an explicit
    --max-models that does not fit, or memory that holds no model, is one line with the estimate."""
    from groklab.train import multiseed

    configs = _configs(10)
    one = multiseed.estimate_bytes(configs[0], 1)
    cpu = torch.device("cpu")
    monkeypatch.setattr(multiseed, "available_bytes", lambda device: 8 * one)  # holds 4 at 50%
    assert multiseed.batch_capacity(configs, cpu, None) == 4
    assert multiseed.batch_capacity(configs, cpu, 3) == 3
    assert multiseed.batch_capacity(configs[:2], cpu, None) == 2
    assert multiseed.batch_capacity(configs[:2], cpu, 9) == 2  # no more than there are
    with pytest.raises(GroklabError, match=r"5 models need about .* MiB.*--max-models 4\)"):
        multiseed.batch_capacity(configs, cpu, 5)
    monkeypatch.setattr(multiseed, "available_bytes", lambda device: one)  # holds none at 50%
    with pytest.raises(GroklabError, match="one model needs about .* MiB.*use a smaller model"):
        multiseed.batch_capacity(configs, cpu, None)
    monkeypatch.setattr(multiseed, "available_bytes", lambda device: None)  # unknown: all at once
    assert multiseed.batch_capacity(configs, cpu, None) == 10


def _each_is_its_single_run(tmp_path, settings: list[dict], max_models=None) -> list:
    """Configs with these train settings, trained alone and as one batch: each model of the batch
    equals its single run bit for bit, and they stop at different epochs (so some leave the batch)."""
    configs = [dataclasses.replace(c, train=dataclasses.replace(c.train, **kw))
               for c, kw in zip(_configs(len(settings)), settings)]
    check_batchable(configs)
    for i, c in enumerate(configs):
        run(c, tmp_path / f"single_{i}", quiet=True)
    train_many(configs, [tmp_path / f"batch_{i}" for i in range(len(configs))], quiet=True,
               max_models=max_models)
    stops = [RunStore(tmp_path / f"single_{i}").read_summary()["epochs"] for i in range(len(configs))]
    assert len(set(stops)) > 1, stops
    for i in range(len(configs)):
        assert _same_run(tmp_path / f"single_{i}", tmp_path / f"batch_{i}"), i
    return configs


def test_models_with_their_own_weight_decay_are_their_single_runs(tmp_path):
    """Weight decay per model (decoupled, as AdamW applies it) and models leaving the batch as they
    stop: each model still equals its single run bit for bit."""
    configs = _each_is_its_single_run(tmp_path, [dict(weight_decay=wd) for wd in (0.0, 0.5, 2.0)])
    other = dataclasses.replace(configs[0], train=dataclasses.replace(configs[0].train, epochs=50))
    with pytest.raises(GroklabError, match="optimizer settings .*; these differ in train"):
        check_batchable([configs[0], other])


@pytest.mark.parametrize("max_models", [None, 2])
def test_models_with_their_own_optimizer_settings_are_their_single_runs(tmp_path, max_models):
    """Learning rate, betas, warm-up and Grokfast per model: the models sharing settings form a span
    (their own leaves, AdamW group and filter), interleaved here so that the batch must reorder
    them; each model still equals its single run bit for bit, also after others leave the batch,
    and when the five train as batches of at most two (the spans cut across batches)."""
    _each_is_its_single_run(tmp_path, [
        dict(lr=3e-3), dict(lr=1e-2, warmup=0), dict(lr=3e-3),
        dict(lr=3e-3, grokfast="ema", grokfast_lamb=1.0, beta2=0.99),
        dict(lr=5e-3, grokfast="ma", grokfast_window=5, weight_decay=0.3)], max_models=max_models)
    lrs = {RunStore(tmp_path / f"batch_{i}").read_metrics()[-1]["lr"] for i in range(5)}
    assert lrs == {3e-3, 1e-2, 5e-3}


def test_spans_keep_models_with_shared_settings_adjacent():
    from groklab.train.multiseed import by_span

    base = _configs(5)
    lrs = (1e-3, 2e-3, 1e-3, 3e-3, 2e-3)
    configs = [dataclasses.replace(c, train=dataclasses.replace(c.train, lr=lr))
               for c, lr in zip(base, lrs)]
    assert by_span(configs) == [0, 2, 1, 4, 3]
