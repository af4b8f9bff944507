"""The `groklab` command line: parse, call one library function, print. Orchestration only.

Every config field is a flag (built from the dataclass metadata); bad input prints one line on stderr
and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import MISSING, fields
from pathlib import Path

from groklab.config import PRESETS, ModelConfig, RunConfig, TaskConfig, TrainConfig, override, preset
from groklab.errors import GroklabError

SECTIONS = {"task": TaskConfig, "model": ModelConfig, "train": TrainConfig}


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) instead of usage dumps."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"groklab: error: {message}\n")
        sys.exit(2)


def _flag(f) -> str:
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def _add_config_flags(p: argparse.ArgumentParser) -> None:
    for section, cls in SECTIONS.items():
        group = p.add_argument_group(f"{section} config")
        for f in fields(cls):
            default = f.default if f.default is not MISSING else None
            kwargs = {"dest": f"{section}.{f.name}", "default": None,
                      "help": f"{f.metadata['help']} (default {default})"}
            if f.type in ("bool", bool):
                group.add_argument(_flag(f), action=argparse.BooleanOptionalAction, **kwargs)
                continue
            typ = {"int": int, "float": float, "str": str}.get(str(f.type), str)
            if f.metadata.get("choices"):
                kwargs["choices"] = f.metadata["choices"]
            group.add_argument(_flag(f), type=typ, metavar=f.name.upper(), **kwargs)


def config_from_args(args: argparse.Namespace) -> RunConfig:
    config = preset(args.preset) if args.preset else RunConfig()
    changes: dict = {s: {} for s in SECTIONS}
    for key, value in vars(args).items():
        if "." in key and value is not None:
            section, name = key.split(".", 1)
            changes[section][name] = value
    if args.seed is not None:
        changes["seed"] = args.seed
    if not args.preset:
        changes["preset"] = "custom"
    return override(config, changes)


def default_out(config: RunConfig) -> Path:
    t = config.task
    return Path("runs") / f"{config.preset}-{t.name}-p{t.p}-seed{config.seed}"


def _runtime_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, default=None,
                   help="torch intra-op threads (default 1: on a loaded 2-core CPU, 2 threads can be "
                        "much slower; see README)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="training device")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def cmd_train(args: argparse.Namespace) -> int:
    from groklab.train import run

    config = config_from_args(args)
    out = Path(args.out) if args.out else default_out(config)
    result = run(config, out, threads=args.threads, device=args.device, quiet=args.quiet,
                 overwrite=args.overwrite)
    print(format_summary(result.path, result.summary, result.resumed_from))
    return 0


def format_summary(path: Path, s: dict, resumed_from: int | None = None) -> str:
    final = s["final"]
    lines = [f"run: {path}"]
    if resumed_from:
        lines.append(f"resumed from epoch {resumed_from}")
    lines += [
        f"epochs: {s['epochs']} ({s['stopped']}), {s['wall_s']:.1f} s",
        f"train acc {final['acc/train']:.4f}  loss {final['loss/train']:.3g}",
        f"test  acc {final['acc/test']:.4f}  loss {final['loss/test']:.3g}",
        f"memorized at epoch {s['memorized_epoch']}, grokked at epoch {s['grokked_epoch']}",
    ]
    return "\n".join(lines)


def cmd_runs(args: argparse.Namespace) -> int:
    from groklab.store import find_runs

    runs = find_runs(args.dir)
    if not runs:
        print(f"no runs under {args.dir}")
        return 0
    print(f"{'run':40s} {'task':6s} {'p':>4s} {'preset':10s} {'epochs':>7s} {'memorized':>9s} "
          f"{'grokked':>8s} {'test acc':>8s}")
    for r in runs:
        c, s = r.read_config(), r.read_summary() or {}
        rows = r.read_metrics()
        epochs = s.get("epochs", rows[-1]["epoch"] if rows else 0)
        acc = rows[-1]["acc/test"] if rows else float("nan")
        print(f"{str(r.path):40s} {c.task.name:6s} {c.task.p:4d} {c.preset:10s} {epochs:7d} "
              f"{str(s.get('memorized_epoch', '-')):>9s} {str(s.get('grokked_epoch', '-')):>8s} "
              f"{acc:8.4f}")
    return 0


def build_parser() -> Parser:
    parser = Parser(prog="groklab", description="Train, analyse and extract the algorithms that "
                                                "small networks learn on modular arithmetic.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    p = sub.add_parser("train", help="train a model into a run directory (resumes if interrupted)",
                       description="Train a model. Presets: " + "; ".join(
                           f"{k}: {v[0]}" for k, v in PRESETS.items()))
    p.add_argument("--preset", choices=list(PRESETS), default=None, help="starting config")
    p.add_argument("--seed", type=int, default=None, help="init seed (default 0)")
    p.add_argument("--out", default=None, help="run directory (default runs/PRESET-TASK-pP-seedS)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a run directory that holds a different config")
    _runtime_flags(p)
    _add_config_flags(p)
    p.set_defaults(fn=cmd_train)

    p = sub.add_parser("runs", help="list the runs under a directory")
    p.add_argument("dir", nargs="?", default="runs")
    p.set_defaults(fn=cmd_runs)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.fn(args)
    except GroklabError as e:
        sys.stderr.write(f"groklab: error: {e}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("groklab: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
