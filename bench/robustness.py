"""Robustness: a kill-at-random resume soak and a corpus of corrupt files, with pass counts.

Usage: python bench/robustness.py [--kills 12] [--seed 0]
1. Soak: `groklab train` (a small config with Grokfast EMA) is killed with SIGKILL at seeded random
   moments (some land during checkpoint or state writes) and restarted until it finishes; its
   final weights must equal, bit for bit, those of an uninterrupted run, with no duplicated
   metrics rows and no temporary file left.
2. Corpus: each corrupt input must give exit status 2 and one line on stderr, no traceback.
3. Surfaces: the corpus of tests/surfaces.py (sweep specs and databases, the sweep's output and
   flags, group names, emitted group programs, foreign configs and tensors): a non-zero exit, one
   line, no traceback, nothing changed.
4. Sweep kill soak: `groklab sweep run` killed with SIGKILL at seeded random moments, the parent
   alone or its whole process group in turn; no process of it may outlive it, the rerun must not
   be refused, and the finished table must equal an uninterrupted sweep's.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLAGS = ["--task", "add", "--p", "23", "--frac-train", "0.5", "--d-model", "32", "--n-heads", "2",
         "--d-head", "16", "--d-mlp", "64", "--lr", "3e-3", "--eval-every", "5", "--ckpt-every",
         "25", "--grokfast", "ema", "--quiet", "--threads", "1"]


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "groklab.cli", *args], capture_output=True,
                          text=True, timeout=timeout)


def soak(root: Path, kills: int, seed: int, epochs: int = 400) -> tuple[int, int]:
    import torch

    from groklab.store import RunStore

    ref = root / "reference"
    assert cli("train", "--out", str(ref), *FLAGS, "--epochs", str(epochs)).returncode == 0
    t0 = time.perf_counter()
    cli("train", "--out", str(root / "timing"), *FLAGS, "--epochs", str(epochs))
    full = time.perf_counter() - t0
    rng = random.Random(seed)
    passed = 0
    for k in range(kills):
        out = root / f"killed{k}"
        n_kills = 0
        while True:
            proc = subprocess.Popen([sys.executable, "-m", "groklab.cli", "train", "--out",
                                     str(out), *FLAGS, "--epochs", str(epochs)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                proc.wait(timeout=rng.uniform(0.3, 1.0) * full if n_kills < 3 else 600)
                break
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                n_kills += 1
        store, reference = RunStore(out), RunStore(ref)
        a = store.load_checkpoint(epochs)
        b = reference.load_checkpoint(epochs)
        epochs_logged = [r["epoch"] for r in store.read_metrics()]
        leftovers = list(out.glob(".*.tmp")) + list((out / "checkpoints").glob(".*.tmp"))
        ok = all(torch.equal(a[n], b[n]) for n in b) and \
            len(epochs_logged) == len(set(epochs_logged)) and not leftovers and \
            store.checkpoint_epochs() == reference.checkpoint_epochs()
        passed += ok
        print(f"  soak {k}: {n_kills} kills, {'exact' if ok else 'DIFFERENT'}", flush=True)
    return passed, kills


def corpus(root: Path) -> tuple[int, int]:
    from safetensors.torch import save_file
    import torch

    good = root / "good"
    assert cli("train", "--out", str(good), *FLAGS, "--epochs", "30").returncode == 0
    config = json.loads((good / "config.json").read_text())

    def run_copy(name: str, edit) -> Path:
        import shutil

        path = root / name
        shutil.copytree(good, path)
        edit(path)
        return path

    def set_config(path: Path, section: str | None, key: str, value) -> None:
        data = json.loads(json.dumps(config))
        (data if section is None else data[section])[key] = value
        (path / "config.json").write_text(json.dumps(data))

    ckpt = "checkpoints/epoch_0000030.safetensors"
    cases = {
        "truncated checkpoint": (lambda p: (p / ckpt).write_bytes((p / ckpt).read_bytes()[:99]),
                                 "analyze"),
        "checkpoint of zeros": (lambda p: (p / ckpt).write_bytes(b"\0" * 512), "analyze"),
        "checkpoint with wrong tensors": (lambda p: save_file({"x": torch.zeros(3)},
                                                              str(p / ckpt)), "analyze"),
        "state file of junk": (lambda p: (p / "state.safetensors").write_bytes(b"junk"), "train"),
        "state without metadata": (lambda p: save_file({"x": torch.zeros(1)},
                                                       str(p / "state.safetensors")), "train"),
        "torn metrics line in the middle": (lambda p: (p / "metrics.jsonl").write_text(
            '{"epoch": 0}\n{"epo\n{"epoch": 5}\n'), "analyze"),
        "config not JSON": (lambda p: (p / "config.json").write_text("{nope"), "analyze"),
        "config a list": (lambda p: (p / "config.json").write_text("[1, 2]"), "analyze"),
        "config p a string": (lambda p: set_config(p, "task", "p", "abc"), "analyze"),
        "config lr a list": (lambda p: set_config(p, "train", "lr", [1]), "analyze"),
        "config negative seed": (lambda p: set_config(p, None, "seed", -5), "analyze"),
        "config seed beyond 64 bits": (lambda p: set_config(p, None, "seed", 2**70), "analyze"),
        "config unknown key": (lambda p: set_config(p, "model", "wings", 2), "analyze"),
        "config huge p": (lambda p: set_config(p, "task", "p", 10**6), "analyze"),
        "config without data seed": (lambda p: (p / "config.json").write_text(json.dumps(
            {**config, "task": {k: v for k, v in config["task"].items() if k != "data_seed"}})),
            "analyze"),
        "config bool as number": (lambda p: set_config(p, "model", "d_model", True), "analyze"),
    }
    passed = 0
    for name, (edit, command) in cases.items():
        path = run_copy(name.replace(" ", "_"), edit)
        args = {"analyze": ["analyze", str(path), "--quiet"], "report": ["report", str(path)],
                "train": ["train", "--out", str(path), *FLAGS, "--epochs", "60"]}[command]
        r = cli(*args)
        lines = r.stderr.strip().splitlines()
        ok = r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr
        passed += ok
        print(f"  {'ok  ' if ok else 'FAIL'} {name}: {lines[-1] if lines else r.returncode}")
    for name, data in (("foreign pickle", b"\x80\x04\x95junk"), ("empty file", b"")):
        f = root / f"{name.replace(' ', '_')}.pt"
        f.write_bytes(data)
        r = cli("analyze", str(f))
        ok = r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
        passed += ok
        print(f"  {'ok  ' if ok else 'FAIL'} {name}: {r.stderr.strip()}")
    return passed, len(cases) + 2


TESTS = Path(__file__).resolve().parents[1] / "tests"
TABLE_KEYS = ("run_id", "state", "memorized_epoch", "grokked_epoch", "key_frequencies",
              "algorithm", "verdict")


def _table(out: Path) -> list[tuple]:
    import csv
    import io

    r = cli("sweep", "table", str(out), "--csv")
    rows = list(csv.DictReader(io.StringIO(r.stdout))) if r.returncode == 0 else []
    return sorted(tuple(row[k] for k in TABLE_KEYS) for row in rows)


def sweep_soak(root: Path, kills: int, seed: int) -> tuple[int, int]:
    import os
    import signal

    sys.path.insert(0, str(TESTS))
    from surfaces import SPEC, gone

    root.mkdir(parents=True)
    spec = root / "sweep.toml"
    spec.write_text('stages = ["train", "analyze", "extract"]\n' + SPEC.replace(
        "epochs = 20", "epochs = 400\nlr = 3e-3") + "[axes]\nseed = [0, 1]\nweight_decay = [0.5, 1.0]\n")
    full = root / "full"
    t0 = time.perf_counter()
    assert cli("sweep", "run", str(spec), "--out", str(full), "--workers", "2",
               timeout=900).returncode == 0
    span = time.perf_counter() - t0
    want = _table(full)
    rng = random.Random(seed)
    passed = 0
    for k in range(kills):
        out, victim = root / f"killed_{k}", ("parent", "group")[k % 2]
        proc = subprocess.Popen([sys.executable, "-m", "groklab.cli", "sweep", "run", str(spec),
                                 "--out", str(out), "--workers", "2"], start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.5, 0.8 * span))
        (os.kill if victim == "parent" else os.killpg)(proc.pid, signal.SIGKILL)
        proc.wait()
        orphans = not gone(proc.pid)
        r = cli("sweep", "run", str(spec), "--out", str(out), "--workers", "2", timeout=900)
        ok = not orphans and r.returncode == 0 and _table(out) == want
        passed += ok
        print(f"  {'ok  ' if ok else 'FAIL'} kill {k + 1} ({victim}): "
              f"{'orphans left' if orphans else 'no orphans'}, rerun exit {r.returncode}"
              + ("" if r.returncode == 0 else f" ({r.stderr.strip()})"))
    return passed, kills


def surfaces(root: Path) -> tuple[int, int]:
    sys.path.insert(0, str(TESTS))
    from surfaces import CASES, check

    passed = 0
    for i, case in enumerate(CASES):
        where = root / f"case_{i}"
        where.mkdir(parents=True)
        held, line = check(case, where)
        passed += held
        print(f"  {'ok  ' if held else 'FAIL'} {case.name}: {line}")
    return passed, len(CASES)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sweep-kills", type=int, default=10)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="groklab-robust-"))
    print("corrupt-file corpus")
    c = corpus(root / "corpus")
    print("kill-at-random resume soak")
    s = soak(root / "soak", args.kills, args.seed)
    print("surfaces corpus")
    f = surfaces(root / "surfaces")
    print("sweep kill soak")
    w = sweep_soak(root / "sweep_soak", args.sweep_kills, args.seed)
    print(f"corpus: {c[0]}/{c[1]} one-line errors; soak: {s[0]}/{s[1]} runs exact after kills; "
          f"surfaces: {f[0]}/{f[1]} held; sweep soak: {w[0]}/{w[1]} reruns equal to an "
          "uninterrupted sweep, no orphans")


if __name__ == "__main__":
    main()
