"""The `groklab` command line: parse, call one library function, print. Orchestration only.

Every config field is a flag (built from the dataclass metadata); bad input prints one line on stderr
and exits with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import MISSING, fields
from pathlib import Path

from groklab.config import LAYOUTS, PRESETS, ModelConfig, RunConfig, TaskConfig, TrainConfig, override, preset
from groklab.errors import GroklabError
from groklab.store import ANALYSIS_FILE, PROGRAM_FILE, RunStore

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
            shown = "" if default == "" else f" (default {default})"
            kwargs = {"dest": f"{section}.{f.name}", "default": None,
                      "help": f"{f.metadata['help']}{shown}"}
            if f.type in ("bool", bool):
                group.add_argument(_flag(f), action=argparse.BooleanOptionalAction, **kwargs)
                continue
            typ = {"int": int, "int | None": int, "float": float, "str": str}.get(str(f.type), str)
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
    result = override(config, changes)
    result.task.check_p(changes["task"].get("p"))
    return result


def default_out(config: RunConfig) -> Path:
    t = config.task
    return Path("runs") / f"{config.preset}-{t.name}-p{t.p}-seed{config.seed}"


def _cpu_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, default=None,
                   help="torch intra-op threads (default 1: on a loaded 2-core CPU, 2 threads can be "
                        "much slower; see README)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _runtime_flags(p: argparse.ArgumentParser) -> None:
    _cpu_flags(p)
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="training device")


def _target_flags(p: argparse.ArgumentParser) -> None:
    """Flags of commands that take a run directory or a model file."""
    p.add_argument("target", help="a run directory, or a model file (.safetensors, .pt, .pth)")
    p.add_argument("--layout", choices=LAYOUTS, default=None,
                   help="layout of a model file (default: detected from the shapes; "
                        "chughtai2023: the group MLPs of Chughtai et al. 2023)")
    p.add_argument("--config", default=None, metavar="JSON",
                   help="the model file's config JSON (needed by clockpizza2023 and chughtai2023: "
                        "cfg.json gives the group and the split)")
    p.add_argument("--task", choices=("add", "sub", "mul", "div"), default=None,
                   help="task of a model file (default: inferred from its accuracy)")
    p.add_argument("--table", default=None, metavar="FILE",
                   help="score a model file on the operation in this table (CSV or .npy, row a, "
                        "column b, entry a∘b): what it is (a group, an isotope, neither) is read "
                        "from the table")
    p.add_argument("--act", choices=("relu", "gelu", "quadratic"), default=None,
                   help="MLP activation of a file (default: from its config, else relu)")
    p.add_argument("--checkpoint", type=int, default=None, help="epoch (default: the last)")


def cmd_train(args: argparse.Namespace) -> int:
    from groklab.train import run

    config = config_from_args(args)
    if args.seeds is not None:
        return train_seeds(args, config)
    if args.max_models is not None:
        raise GroklabError(f"--max-models {args.max_models} needs --seeds (it sizes the batches of "
                           "models trained together)")
    if args.batch_forward != "auto":
        raise GroklabError(f"--batch-forward {args.batch_forward} needs --seeds (it is how a batch "
                           "of models runs)")
    out = Path(args.out) if args.out else default_out(config)
    result = run(config, out, threads=args.threads, device=args.device, quiet=args.quiet,
                 overwrite=args.overwrite)
    print(format_summary(result.path, result.summary, result.resumed_from))
    return 0


def train_seeds(args: argparse.Namespace, config: RunConfig) -> int:
    """--seeds: the models of every seed trained together, into OUT/seed_<s>/."""
    import dataclasses

    from groklab.train.multiseed import parse_seeds, train_many

    if args.seed is not None:
        raise GroklabError("--seed and --seeds exclude each other: give the seeds in --seeds")
    seeds = parse_seeds(args.seeds)
    t = config.task
    out = Path(args.out) if args.out else Path("runs") / f"{config.preset}-{t.name}-p{t.p}-seeds"
    configs = [dataclasses.replace(config, seed=s) for s in seeds]
    results = train_many(configs, [out / f"seed_{s}" for s in seeds], threads=args.threads,
                         device=args.device, quiet=args.quiet, overwrite=args.overwrite,
                         max_models=args.max_models, forward=args.batch_forward)
    for r in results:
        s = r.summary
        print(f"{r.path}: {s.get('epochs')} epochs ({s.get('stopped')}), memorized at "
              f"{s.get('memorized_epoch')}, grokked at {s.get('grokked_epoch')}")
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
        task = c.task.label
        print(f"{str(r.path):40s} {task:6s} {c.task.p:4d} {c.preset:10s} {epochs:7d} "
              f"{str(s.get('memorized_epoch', '-')):>9s} {str(s.get('grokked_epoch', '-')):>8s} "
              f"{acc:8.4f}")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from groklab.api import ticker
    from groklab.engine import analyze_file, analyze_run
    from groklab.train.run import set_threads

    set_threads(args.threads)
    target = Path(args.target)
    if target.is_dir():
        result = analyze_run(target, args.checkpoint, with_progress=not args.no_progress,
                             on_checkpoint=ticker(args.quiet, "analyze"), json_path=args.json)
        where = args.json or RunStore(target).file(ANALYSIS_FILE)
    else:
        result = analyze_file(target, args.layout, args.task, args.p, args.act, json_path=args.json,
                              config_path=args.config, table=args.table)
        where = result.source["json"]
    print("\n".join(result.summary_lines()))
    print(f"wrote {where}")
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    from groklab.api import ticker
    from groklab.engine import compare_run, extract_file, extract_run
    from groklab.train.run import set_threads

    set_threads(args.threads)
    target = Path(args.target)
    if target.is_dir():
        result = extract_run(target, args.checkpoint, args.o, args.json,
                             with_curve=not args.no_curve, on_checkpoint=ticker(args.quiet, "extract"),
                             program=args.program)
        out = Path(args.o) if args.o else RunStore(target).file(PROGRAM_FILE)
    else:
        result = extract_file(target, args.layout, args.task, args.act, args.o, args.json,
                              args.config, table=args.table, program=args.program)
        out = Path(args.o) if args.o else target.with_suffix(".program.py")
    print("\n".join(result.summary_lines()))
    if args.compare:
        print(compare_line(target, result, args.compare, compare_run(args.compare)))
    print(f"wrote {out}")
    return 0


def compare_line(target, result, other_path, other) -> str:
    """--compare: whether two runs hold the same kind of algorithmic program."""
    a, b = result.key_set, other.key_set
    same = result.verdict == other.verdict == "algorithmic" and result.algorithm == other.algorithm
    what = "irreps" if result.algorithm == "characters" else "frequencies"
    return (f"compare: {target}: {result.algorithm} ({result.verdict}), {what} {a} | "
            f"{other_path}: {other.algorithm} ({other.verdict}), {what} {b} -> "
            + (f"the same kind of program ({result.algorithm}, {len(a)} vs {len(b)} "
               f"{what}, {len(set(a) & set(b))} shared)" if same
               else "not the same algorithmic program"))


def cmd_report(args: argparse.Namespace) -> int:
    from groklab.api import report

    print(f"wrote {report(args.run, args.o)}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from groklab.api import demo

    trained, analysis, program, path, wall = demo(args.out, args.threads, args.quiet, args.overwrite)
    s, v = trained.summary, program.verification
    rows = [
        ("run", str(trained.path)),
        ("memorized (train acc >= 99%)", f"epoch {s['memorized_epoch']}"),
        ("grokked (test acc >= 99%)", f"epoch {s['grokked_epoch']}"),
        ("phases (memorization | circuit | cleanup end)",
         f"{analysis.phases.memorization_end} | {analysis.phases.circuit_formation_end} | "
         f"{analysis.phases.cleanup_end}"),
        ("key frequencies", str(analysis.key_frequencies)),
        ("neurons explained (FVE > 0.85)", f"{analysis.neuron_fraction_explained:.1%}"),
        ("logit FVE (cos form)", f"{analysis.logit_fve:.3f}"),
        ("restricted / full / excluded train loss",
         f"{analysis.restricted_loss:.2g} / {analysis.train_loss:.2g} / {analysis.excluded_loss:.3g}"),
        ("algorithm / program verdict", f"{program.algorithm} / {v.verdict}"),
        ("program accuracy / agreement", f"{v.program_accuracy:.2%} / {v.agreement:.2%}"),
        ("network acc without program's freqs", f"{v.ablated_accuracy:.2%}"),
        ("program right on all pairs from", f"epoch {program.first_correct_epoch}"),
        ("total time", f"{wall:.0f} s"),
        ("report", str(path)),
    ]
    width = max(len(k) for k, _ in rows)
    print("\n".join(f"{k:<{width}}  {val}" for k, val in rows))
    print(f"\nopen {path} in a browser")
    return 0


def _positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an integer") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{value!r} must be >= 1")
    return n


def _checkpoints_arg(value: str) -> str | int:
    if value == "all":
        return value
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--checkpoints {value!r}: give 'all' or a count") \
            from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"--checkpoints {n}: the count must be >= 1")
    return n


def cmd_llc(args: argparse.Namespace) -> int:
    from groklab.analysis.llc.estimator import LLCSettings
    from groklab.analysis.llc.llc_json import calibrate, llc_run, require_checkpoints
    from groklab.api import ticker
    from groklab.train.run import set_threads

    set_threads(args.threads)
    settings = LLCSettings(**{k: v for k, v in (
        ("epsilon", args.epsilon), ("nbeta", args.nbeta), ("gamma", args.gamma),
        ("chains", args.chains), ("draws", args.draws), ("burn_in", args.burn_in),
        ("batch_size", args.batch_size), ("seed", args.seed)) if v is not None})
    require_checkpoints(args.run)
    if args.calibrate:
        c = calibrate(args.run, settings, args.checkpoint, ticker(args.quiet, "calibrate"))
        print(f"calibration at epoch {c['epoch']} (LLC; * = valid and stationary):")
        print("  epsilon \\ nbeta " + "".join(f"{nb:>12.4g}" for nb in c["nbetas"]))
        for eps, row, ok in zip(c["epsilons"], c["llc"], c["stationary"]):
            print(f"  {eps:>15.0e} " + "".join(
                f"{'-' if v is None else format(v, '.4g'):>11s}{'*' if s else ' '}"
                for v, s in zip(row, ok)))
        for reason in c["invalid"]:
            print(f"  invalid: {reason}")
    else:
        estimates = llc_run(args.run, settings, args.checkpoints, ticker(args.quiet, "llc"),
                            max_models=args.max_models)
        for e in estimates:
            value = "invalid" if e.llc is None else f"{e.llc:.4g} ± {e.llc_std:.2g}"
            print(f"epoch {e.epoch:>7d}  llc {value}" + ("" if e.stationary else "  (not stationary)")
                  + (f"  ({e.reason})" if e.reason else ""))
        diverged = [e for e in estimates if not e.valid and "diverged" in (e.reason or "")]
        if diverged:
            print(f"wrote {Path(args.run) / 'llc.json'}")
            raise GroklabError(f"{len(diverged)} estimate(s) diverged (stored as invalid): "
                               f"{diverged[0].reason}")
    print(f"wrote {Path(args.run) / 'llc.json'}")
    return 0


def cmd_sweep_run(args: argparse.Namespace) -> int:
    from groklab.sweep.execute import run_sweep

    def done(run_id: str, state: str) -> None:
        if not args.quiet:
            print(f"{run_id}: {state}", flush=True)

    counts = run_sweep(args.spec, args.out, args.workers, args.executor, done)
    print(", ".join(f"{k} {v}" for k, v in counts.items()) + f"; results in {args.out}")
    return 0 if counts["failed"] == 0 else 1


def cmd_sweep_status(args: argparse.Namespace) -> int:
    from groklab.sweep.execute import status_counts

    counts, failures = status_counts(Path(args.dir))
    print(", ".join(f"{k} {v}" for k, v in counts.items()))
    for line in failures:
        print(f"failed {line}")
    return 0


def cmd_sweep_table(args: argparse.Namespace) -> int:
    import csv

    from groklab.sweep import results
    from groklab.sweep.execute import load

    load(Path(args.dir))
    columns, rows = results.read(Path(args.dir))
    if args.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(rows)
        return 0
    shown = [c for c in columns if c in ("run_id", "seed", "state", "memorized_epoch",
                                         "grokked_epoch", "algorithm", "verdict", "wall_s")]
    idx = [columns.index(c) for c in shown]
    print("  ".join(f"{c:>14s}" for c in shown))
    for r in rows:
        print("  ".join(f"{'-' if r[i] is None else str(r[i]):>14s}" for i in idx))
    return 0


def cmd_sweep_report(args: argparse.Namespace) -> int:
    from groklab.sweep.report import sweep_report

    print(f"wrote {sweep_report(args.dir, args.o)}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from groklab.sources import load_run_model
    from groklab.models.io import export_transformerlens

    model, epoch = load_run_model(args.run, args.checkpoint)
    out = export_transformerlens(model, args.o)
    print(f"wrote {out}/model.safetensors and {out}/config.json (epoch {epoch}, TransformerLens layout)")
    return 0


def build_parser() -> Parser:
    parser = Parser(prog="groklab", description="Train, analyse and extract the algorithms that "
                                                "small networks learn on modular arithmetic.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    _train_parser(sub)
    _analyze_parser(sub)
    _extract_parser(sub)
    _report_parser(sub)
    _demo_parser(sub)
    _llc_parser(sub)
    _sweep_parser(sub)
    _export_parser(sub)
    _runs_parser(sub)
    return parser


def _train_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model into a run directory (resumes if interrupted)",
                       description="Train a model. Presets: " + "; ".join(
                           f"{k}: {v[0]}" for k, v in PRESETS.items()))
    p.add_argument("--preset", choices=list(PRESETS), default=None, help="starting config")
    p.add_argument("--seed", type=int, default=None, help="init seed (default 0)")
    p.add_argument("--seeds", default=None, metavar="LIST",
                   help="train one model per init seed together in one process (e.g. 0-7 or "
                        "0,3,5), into OUT/seed_<s>/")
    p.add_argument("--max-models", type=_positive_int, default=None,
                   help="with --seeds: at most N models per batch (default: as many as the free "
                        "memory holds; more seeds train as further batches)")
    p.add_argument("--batch-forward", choices=("auto", "loop", "vmap"), default="auto",
                   help="with --seeds: how a batch runs its models' forwards: loop (each model's "
                        "own kernels, bit for bit its single run), vmap (batched kernels, what "
                        "fills a GPU), auto (loop on a CPU, vmap on a GPU)")
    p.add_argument("--out", default=None, help="run directory (default runs/PRESET-TASK-pP-seedS)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a run directory that holds a different config")
    _runtime_flags(p)
    _add_config_flags(p)
    p.set_defaults(fn=cmd_train)


def _analyze_parser(sub) -> None:
    p = sub.add_parser("analyze", help="reverse-engineer the algorithm in a run or a model file")
    _target_flags(p)
    p.add_argument("--p", type=int, default=None, help="modulus of a model file (default: from shapes)")
    p.add_argument("--json", default=None,
                   help="where to write the analysis JSON (default RUN/analysis.json, or "
                        "FILE.analysis.json beside a model file)")
    p.add_argument("--no-progress", action="store_true", help="skip the scan over all checkpoints")
    _cpu_flags(p)
    p.set_defaults(fn=cmd_analyze)


def _extract_parser(sub) -> None:
    p = sub.add_parser("extract", help="read the program out of a run or a model file, verify it")
    _target_flags(p)
    p.add_argument("-o", default=None, metavar="PROGRAM_PY", help="where to write the program")
    p.add_argument("--json", default=None, help="where to write the JSON result")
    p.add_argument("--no-curve", action="store_true", help="skip the program over every checkpoint")
    p.add_argument("--program", default=None, choices=("characters", "cosets"),
                   help="group tasks: the character program (default) or the coset program")
    p.add_argument("--compare", default=None, metavar="RUN",
                   help="another run (e.g. Grokfast vs plain): is it the same kind of program?")
    _cpu_flags(p)
    p.set_defaults(fn=cmd_extract)


def _report_parser(sub) -> None:
    p = sub.add_parser("report", help="write the self-contained HTML report of an analysed run")
    p.add_argument("run", help="run directory (analysed: groklab analyze RUN)")
    p.add_argument("-o", default=None, metavar="HTML", help="output file (default RUN/report.html)")
    p.set_defaults(fn=cmd_report)


def _demo_parser(sub) -> None:
    p = sub.add_parser("demo", help="train the demo preset, analyse, extract, report (about 2 min)")
    p.add_argument("--out", default="runs/demo", help="run directory (default runs/demo)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a run directory that holds a different config")
    _cpu_flags(p)
    p.set_defaults(fn=cmd_demo)


def _llc_parser(sub) -> None:
    p = sub.add_parser("llc", help="the local learning coefficient (SGLD) at a run's checkpoints")
    p.add_argument("run", help="run directory")
    p.add_argument("--checkpoints", type=_checkpoints_arg, default="all",
                   help="'all' (default) or N checkpoints spread evenly")
    p.add_argument("--epsilon", type=float, default=None, help="SGLD step size (default 1e-4)")
    p.add_argument("--nbeta", type=float, default=None, help="nβ (default n/ln n)")
    p.add_argument("--gamma", type=float, default=None, help="localization strength (default 100)")
    p.add_argument("--chains", type=int, default=None, help="chains (default 2)")
    p.add_argument("--draws", type=int, default=None, help="steps per chain, burn-in included "
                                                           "(default 300)")
    p.add_argument("--burn-in", type=int, default=None, help="draws left out of the mean (75)")
    p.add_argument("--batch-size", type=int, default=None, help="minibatch (default: full batch)")
    p.add_argument("--seed", type=int, default=None, help="seed of the chains (default 0)")
    p.add_argument("--max-models", type=_positive_int, default=1,
                   help="run the chains of up to N // chains checkpoints as one batched SGLD, "
                        "the same estimates (default 1: one chain at a time; batching pays on a "
                        "GPU, not on a CPU)")
    p.add_argument("--calibrate", action="store_true", help="run the epsilon x nbeta grid instead")
    p.add_argument("--checkpoint", type=int, default=None, help="calibration epoch (default last)")
    _cpu_flags(p)
    p.set_defaults(fn=cmd_llc)


def _sweep_parser(sub) -> None:
    sweep = sub.add_parser("sweep", help="many runs from one spec: run, status, table, report")
    sweep_sub = sweep.add_subparsers(dest="sweep_command", metavar="SUBCOMMAND",
                                     parser_class=Parser, required=True)
    q = sweep_sub.add_parser("run", help="run every unfinished run of a sweep.toml")
    q.add_argument("spec", help="the sweep spec (TOML)")
    q.add_argument("--out", required=True, help="sweep directory")
    q.add_argument("--executor", choices=("local", "slurm"), default="local")
    q.add_argument("--workers", type=int, default=None, help="processes (default: CPU cores)")
    q.add_argument("--quiet", action="store_true")
    q.set_defaults(fn=cmd_sweep_run)
    q = sweep_sub.add_parser("status", help="pending / running / done / failed counts")
    q.add_argument("dir")
    q.set_defaults(fn=cmd_sweep_status)
    q = sweep_sub.add_parser("table", help="print the results table (DIR/results.duckdb)")
    q.add_argument("dir")
    q.add_argument("--csv", action="store_true", help="CSV with a header of column names")
    q.set_defaults(fn=cmd_sweep_table)
    q = sweep_sub.add_parser("report", help="the sweep's offline HTML report")
    q.add_argument("dir")
    q.add_argument("-o", default=None, metavar="HTML")
    q.set_defaults(fn=cmd_sweep_report)


def _export_parser(sub) -> None:
    p = sub.add_parser("export", help="write a run's model in the TransformerLens layout")
    p.add_argument("run", help="run directory")
    p.add_argument("--layout", choices=("transformerlens",), default="transformerlens")
    p.add_argument("-o", required=True, metavar="DIR", help="output directory")
    p.add_argument("--checkpoint", type=int, default=None, help="epoch (default: last)")
    p.set_defaults(fn=cmd_export)


def _runs_parser(sub) -> None:
    p = sub.add_parser("runs", help="list the runs under a directory")
    p.add_argument("dir", nargs="?", default="runs")
    p.set_defaults(fn=cmd_runs)


_SHOW_WARNING = None


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    from groklab.errors import GroklabWarning

    if issubclass(category, GroklabWarning):
        sys.stderr.write(f"groklab: warning: {message}\n")
    else:
        _SHOW_WARNING(message, category, filename, lineno, file, line)


def main(argv: list[str] | None = None) -> int:
    import warnings

    from groklab.errors import GroklabWarning

    global _SHOW_WARNING
    if _SHOW_WARNING is None:
        _SHOW_WARNING = warnings.showwarning
    warnings.showwarning = _one_line_warning
    warnings.simplefilter("always", GroklabWarning)
    parser = build_parser()
    args = parser.parse_args(argv)
    threads = getattr(args, "threads", None)
    if threads is None or threads >= 1:  # numpy's BLAS (the analyses) follows --threads too,
        for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # unless the user set it already
            os.environ.setdefault(var, str(threads or 1))
    try:
        return args.fn(args)
    except GroklabError as e:
        sys.stderr.write(f"groklab: error: {e}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("groklab: interrupted\n")
        return 130
    except BrokenPipeError:  # the reader went away (e.g. `| head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
