"""How long reading a group from its table takes (groups.structure.read_table), per group: its own
table, an isomorphic copy (one renaming) and an isotope (three renamings); medians of 3, 1 core.

    python bench/structure_speed.py [S5 S6 ...]
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

from groklab.groups.elements import make_group
from groklab.groups.structure import read_table


def renamed(table, sa, sb, sc):
    out = np.empty_like(table)
    out[np.ix_(sa, sb)] = sc[table]
    return out


def main(names: list[str]) -> None:
    rng = np.random.default_rng(0)
    print(f"{'group':6s} {'order':>5s} {'own s':>7s} {'copy s':>7s} {'isotope s':>9s}  found")
    for name in names:
        g = make_group(name)
        p = rng.permutation(g.order)
        tables = [g.table, renamed(g.table, p, p, p),
                  renamed(g.table, *(rng.permutation(g.order) for _ in range(3)))]
        times, found = [], []
        for t in tables:
            runs = []
            for _ in range(3):
                start = time.process_time()
                s = read_table(t)
                runs.append(time.process_time() - start)
            times.append(statistics.median(runs))
            found.append(f"{s.kind}:{s.name}")
        print(f"{name:6s} {g.order:5d} {times[0]:7.3f} {times[1]:7.3f} {times[2]:9.3f}  "
              + ", ".join(found))


if __name__ == "__main__":
    main(sys.argv[1:] or ["S4", "A5", "S5", "D59", "C120", "S6"])
