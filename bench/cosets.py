"""Cosets beside irreps, measured: the subgroup catalogue's build time (S5, S6, A6; no disk cache),
the coset analysis of one S5 checkpoint on one core, and, for analysed runs given on the command
line, one table row per run from its analysis.json (cosets, both programs, the |x| experiment,
the coset fraction over training against the grokked epoch).

    python bench/cosets.py [RUN ...]      # runs: `groklab analyze` already done (s5 preset)
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import torch


def cpu(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return statistics.median(times)


def catalogue_times() -> None:
    from groklab.groups import subgroups as sg
    from groklab.groups.elements import make_group

    for name, repeat in (("S5", 3), ("A6", 1), ("S6", 1)):
        g = make_group(name)
        box = {}
        t = cpu(lambda: box.setdefault("c", sg._build(g)), repeat)  # noqa: B023
        c = box["c"]
        print(f"catalogue {name}: {len(c.subgroups)} subgroups in {len(c.classes)} classes, "
              f"{t:.2f} CPU-s (median of {repeat}, no cache)")


def checkpoint_time(run: Path) -> None:
    from groklab.analysis.group.cosets import coset_analysis, coset_progress
    from groklab.analysis.group.representations import model_logits, view_of
    from groklab.sources import load_run

    loaded = load_run(run)
    view = view_of(loaded.data)
    logits, _ = model_logits(loaded.model, loaded.data)
    full = cpu(lambda: coset_analysis(loaded.model, loaded.data, view, logits))
    point = cpu(lambda: coset_progress(loaded.model, loaded.data, view))
    print(f"coset analysis of one checkpoint ({run.name}, {loaded.model.cfg.d_mlp} neurons): "
          f"{full:.2f} CPU-s; per-checkpoint progress measure {point:.3f} CPU-s (medians of 3)")


def row(run: Path) -> str:
    a = json.loads((run / "analysis.json").read_text())
    c, summary = a["cosets"], json.loads((run / "summary.json").read_text())
    fve = lambda p: (p.get("evidence") or {}).get("logit_fve") or 0.0  # noqa: E731
    wins = ", ".join(f"{k} {v}" for k, v in list(c["winning_subgroups"].items())[:3])
    act = c["activation"]
    grokked = summary.get("grokked_epoch")
    prog = [p for p in a.get("progress") or [] if p.get("coset_fraction") is not None]
    final = prog[-1]["coset_fraction"] if prog else 0.0
    half = next((p["epoch"] for p in prog if p["coset_fraction"] >= final / 2), None)
    at_grok = next((p for p in prog if grokked is not None and p["epoch"] >= grokked), None)
    return (f"| {run.name} | {grokked} | {', '.join(a['key_irreps'])} | "
            f"{c['fraction_concentrated']:.1%} | {c['fraction_below_0_01']:.1%} | "
            f"{c['median_min_c']:.2g} | {wins} | {c['dictionary_agreement']:.0%} | "
            f"{fve(c['program']):.3f} / {fve(a['program']):.3f} | "
            f"{act['abs']['loss']:.2g} / {act['network']['loss']:.2g} | {half} | "
            f"{at_grok['coset_fraction'] if at_grok else float('nan'):.0%} |")


def main(runs: list[str]) -> None:
    torch.set_num_threads(1)
    catalogue_times()
    if runs:
        checkpoint_time(Path(runs[0]))
        print("| run | grokked | key irreps | min C < 1 | < 0.01 | median min C | winning "
              "subgroups (parts) | dictionary | FVE cosets / characters | loss |x| / ReLU | "
              "half the final coset fraction at | coset fraction at grokking |")
        print("|" + "---|" * 12)
        for run in runs:
            print(row(Path(run)))


if __name__ == "__main__":
    main(sys.argv[1:])
