"""C_p through the group path vs the Fourier path, on the same weights: a run of a+b mod p (the
demo preset by default) analysed twice, as modular addition (key frequencies) and as composition in
the cyclic group C_p (key irreps freq_k). The two must name the same frequencies.

Usage: python bench/cyclic_paths.py [RUN_DIR] [--threads 1]
Without RUN_DIR it trains the demo preset (seed 0) into a temporary directory first (~1 min).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from groklab.analysis.cyclic.analyze import analyze_model
from groklab.sources import load_run_model
from groklab.analysis.group.analyze import analyze_group_model
from groklab.config import TaskConfig, preset
from groklab.store import RunStore
from groklab.tasks import make_dataset
from groklab.train import run
from groklab.train.run import set_threads


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", nargs="?", default=None)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    set_threads(args.threads)
    path = Path(args.run) if args.run else Path(tempfile.mkdtemp(prefix="groklab-cyclic-")) / "demo"
    if not args.run:
        run(preset("demo"), path, quiet=True, threads=args.threads)
    cfg = RunStore(path).read_config()
    if cfg.task.name != "add" or cfg.task.relabel_seed is not None:
        raise SystemExit(f"{path}: needs a run of a+b mod p without relabeling, not {cfg.task}")
    model, epoch = load_run_model(path)
    t0 = time.process_time()
    fourier = analyze_model(model, make_dataset(cfg.task), {"kind": "run", "path": str(path)})
    t1 = time.process_time()
    task = TaskConfig(name="group", group=f"C{cfg.task.p}", frac_train=cfg.task.frac_train,
                      data_seed=cfg.task.data_seed)
    grouped = analyze_group_model(model, make_dataset(task), {"kind": "run", "path": str(path)})
    t2 = time.process_time()
    irreps = sorted(int(k.split("_")[1]) for k in grouped.key_irreps)
    print(f"{path} (epoch {epoch}), a+b mod {cfg.task.p}")
    print(f"  Fourier path: key frequencies {fourier.key_frequencies} ({t1 - t0:.1f} CPU-s)")
    print(f"  group path C{cfg.task.p}: key irreps {grouped.key_irreps} ({t2 - t1:.1f} CPU-s); "
          f"character program {grouped.algorithm}, accuracy "
          f"{grouped.program['program_accuracy']:.2%}, held-out agreement "
          f"{grouped.program['test_agreement']:.2%}")
    print(f"  same frequencies: {irreps == sorted(fourier.key_frequencies)}")


if __name__ == "__main__":
    main()
