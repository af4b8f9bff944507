"""End-to-end time of `groklab demo` (train, analyse every checkpoint, extract, report), wall and CPU.

Usage: python bench/demo_time.py [--out DIR]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="groklab-demo-") + "/demo"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "groklab.cli", "demo", "--out", out, "--quiet"], check=True)
    wall = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"groklab demo: {wall:.1f} s wall, {usage.ru_utime + usage.ru_stime:.1f} CPU-s "
          f"(target <= 180 s wall)")


if __name__ == "__main__":
    main()
