"""groklab's LLC estimator beside devinterp's (the [slt] extra) on the same models, data and
hyperparameters: MLPs on a+b mod 23 after 300 epochs (weight decay 0 and 1). Prints both estimates,
their chain std and the relative difference, and the wall time of each.

Usage: python bench/llc_devinterp.py   (needs devinterp 2.x: pip install -e '.[slt]')
"""

from __future__ import annotations

import math
import tempfile
import time
import warnings

from groklab.analysis.llc.estimator import LLCSettings, estimate_model
from groklab.analysis.llc.devinterp import devinterp_estimate
from groklab.config import RunConfig
from groklab.tasks import make_dataset
from groklab.train import run


def main() -> None:
    warnings.simplefilter("ignore")
    root = tempfile.mkdtemp(prefix="groklab-slt-")
    for wd in (0.0, 1.0):
        cfg = RunConfig.from_dict({
            "task": {"name": "add", "p": 23, "frac_train": 0.6},
            "model": {"kind": "mlp", "d_model": 16, "d_mlp": 64},
            "train": {"epochs": 300, "lr": 1e-2, "weight_decay": wd, "eval_every": 50,
                      "ckpt_every": 1000}})
        model = run(cfg, f"{root}/wd{wd}", quiet=True, threads=1).model.double()
        data = make_dataset(cfg.task)
        n = len(data.train_idx)
        settings = LLCSettings(epsilon=1e-4, nbeta=n / math.log(n), gamma=100.0, chains=8,
                               draws=800, burn_in=0)
        t0 = time.perf_counter()
        ours = estimate_model(model, data, settings)
        t1 = time.perf_counter()
        theirs = devinterp_estimate(model, data, settings)
        t2 = time.perf_counter()
        rel = abs(ours.llc - theirs["llc"]) / theirs["llc"]
        print(f"mlp p=23 wd={wd}: groklab {ours.llc:.3f} ± {ours.llc_std:.3f} ({t1 - t0:.1f} s) | "
              f"devinterp {theirs['llc']:.3f} ± {theirs['llc_std']:.3f} ({t2 - t1:.1f} s) | "
              f"difference {rel:.1%}", flush=True)


if __name__ == "__main__":
    main()
