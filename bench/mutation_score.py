"""The mutation score per rule module, from `mutmut results` (run `make mutants`).

Prints killed / total per module, and per rule function of the modules that also hold other
code; lists the surviving mutants (`mutmut show NAME` shows each diff)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

BIN = Path(sys.executable).parent
CAUGHT = ("killed", "timeout")  # a mutant that makes a test hang is caught (mutmut counts it so)


def main() -> int:
    out = subprocess.run([str(BIN / "mutmut"), "results", "--all", "true"], capture_output=True,
                         text=True).stdout
    per = defaultdict(lambda: [0, 0])
    survivors = []
    for line in out.splitlines():
        m = re.match(r"\s*([\w.]+)\.x_(\w+?)__mutmut_\d+: (\w[\w ]*)", line)
        if not m:
            continue
        module, func, status = m.group(1), m.group(2), m.group(3).strip()
        for key in (module, f"{module}.{func}"):
            per[key][1] += 1
            per[key][0] += status in CAUGHT
        if status not in CAUGHT:
            survivors.append(line.strip())
    print(f"{'module / function':60s} {'caught':>7s} {'total':>6s} {'score':>6s}")
    for key in sorted(per):
        k, n = per[key]
        indent = "  " if key.rsplit(".", 1)[0] in per else ""
        print(f"{indent + key:60s} {k:7d} {n:6d} {k / n:6.1%}")
    print(f"\n{len(survivors)} not killed:")
    print("\n".join(survivors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
