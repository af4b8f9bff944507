"""Golden outputs for a behaviour-preserving refactor: analysis.json and program.json of hand-built
fixtures and of trained runs, written by the code on PYTHONPATH, then compared.

    python bench/golden.py dump OUT [RUN ...]     # copy each run, analyze + extract it, save JSON
    python bench/golden.py diff OLD NEW           # every differing value, by JSON path

Run `dump` once with the old code (PYTHONPATH=/tmp/old/src) and once with the new, then `diff`.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _fixture_runs(tmp: Path) -> dict[str, Path]:
    sys.path.insert(0, str(HERE.parent / "tests"))
    from conftest import group_handbuilt_run, handbuilt_run

    return {"handbuilt_fourier": handbuilt_run(tmp / "hb").path,
            "handbuilt_characters": group_handbuilt_run(tmp / "hbg").path}


def dump(out: Path, runs: list[str]) -> None:
    import torch

    try:
        from groklab.engine import analyze_run, extract_run
    except ImportError:  # the code before the engine existed
        from groklab.analysis import analyze_run
        from groklab.synth import extract_run

    torch.set_num_threads(1)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.gettempdir()) / "groklab_golden_work"  # fixed: program.py names the path
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    if True:
        targets = _fixture_runs(Path(tmp))
        for r in runs:
            dst = Path(tmp) / Path(r).name
            shutil.copytree(r, dst, ignore=shutil.ignore_patterns(
                "analysis.json", "program.*", "report.html", "lock"))
            targets[Path(r).name] = dst
        for name, path in targets.items():
            analyze_run(path)
            extract_run(path)
            for f in ("analysis.json", "program.json", "program.py"):
                shutil.copy(path / f, out / f"{name}.{f}")
            print("dumped", name, flush=True)


def _walk(a, b, where: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{where}.{k}: {'only new' if k not in a else 'only old'}")
            else:
                _walk(a[k], b[k], f"{where}.{k}", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            _walk(x, y, f"{where}[{i}]", out)
    elif isinstance(a, float) and isinstance(b, float):
        if a != b and not (math.isnan(a) and math.isnan(b)):
            out.append(f"{where}: {a!r} -> {b!r}")
    elif a != b:
        out.append(f"{where}: {str(a)[:80]} -> {str(b)[:80]}")


def diff(old: Path, new: Path) -> int:
    bad = 0
    for f in sorted(old.iterdir()):
        g = new / f.name
        if not g.is_file():
            print(f"{f.name}: missing in {new}")
            bad += 1
            continue
        if f.suffix == ".py":
            same = f.read_text() == g.read_text()
            print(f"{f.name}: {'identical' if same else 'DIFFERS'}")
            bad += not same
            continue
        out: list[str] = []
        _walk(json.loads(f.read_text()), json.loads(g.read_text()), "", out)
        print(f"{f.name}: {'identical' if not out else f'{len(out)} differences'}")
        for line in out[:40]:
            print("   ", line)
        bad += bool(out)
    return bad


if __name__ == "__main__":
    if sys.argv[1] == "dump":
        dump(Path(sys.argv[2]), sys.argv[3:])
    else:
        sys.exit(1 if diff(Path(sys.argv[2]), Path(sys.argv[3])) else 0)
