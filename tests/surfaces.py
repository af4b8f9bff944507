"""A corpus of hostile inputs for the surfaces after training: sweep specs and their results
database, the sweep's output directory and flags, group names, emitted group programs, foreign
configs and tensors, LLC flags. Shared by tests/test_surfaces.py and bench/robustness.py.

Every case must give a non-zero exit with one line on stderr naming the bad value, no traceback,
and leave the files it was given as they were.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from safetensors.torch import save_file

SPEC = """
[base]
task = "add"
p = 13
frac_train = 0.5
d_model = 16
n_heads = 2
d_head = 8
d_mlp = 32
epochs = 20
eval_every = 5
ckpt_every = 10
"""


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], list[str]]  # makes its inputs under the folder, returns the command
    program: bool = False  # the command is `python program.py ...`, not groklab


def _spec(text: str) -> Callable[[Path], list[str]]:
    def build(root: Path) -> list[str]:
        (root / "s.toml").write_text(text)
        return ["sweep", "run", str(root / "s.toml"), "--out", str(root / "out")]
    return build


def _sweep_out(make: Callable[[Path], Path], extra: tuple = ()) -> Callable[[Path], list[str]]:
    def build(root: Path) -> list[str]:
        (root / "s.toml").write_text(SPEC + "[axes]\nseed = [0]\n")
        return ["sweep", "run", str(root / "s.toml"), "--out", str(make(root)), *extra]
    return build


def _a_file(root: Path) -> Path:
    (root / "f").write_text("x")
    return root / "f"


def _database(damage: Callable[[Path], None], command: str) -> Callable[[Path], list[str]]:
    """A finished one-run sweep whose results.duckdb is then damaged."""
    def build(root: Path) -> list[str]:
        from groklab.sweep.execute import run_sweep

        (root / "s.toml").write_text(SPEC + "[axes]\nseed = [0]\n")
        run_sweep(root / "s.toml", root / "out", workers=1)
        damage(root / "out" / "results.duckdb")
        if command == "run":
            return ["sweep", "run", str(root / "s.toml"), "--out", str(root / "out")]
        return ["sweep", command, str(root / "out")]
    return build


def _newer_column(path: Path) -> None:
    import duckdb

    con = duckdb.connect(str(path))
    con.execute("ALTER TABLE runs ADD COLUMN from_the_future INTEGER")
    con.close()


def _group_program(args: tuple[str, ...], checkpoint: int | None = None
                   ) -> Callable[[Path], list[str]]:
    """program.py of the hand-built S4 character network (or, at epoch 0, its lookup table)."""
    def build(root: Path) -> list[str]:
        from conftest import group_handbuilt_run
        from groklab.engine import extract_run

        store = group_handbuilt_run(root / "run")
        extract_run(store.path, checkpoint=checkpoint, with_curve=False)
        return [str(store.path / "program.py"), *args]
    return build


def _file(layout: str, tensors: dict, config: dict | None = None,
          extra: tuple = ()) -> Callable[[Path], list[str]]:
    def build(root: Path) -> list[str]:
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(root / "m.safetensors"))
        argv = ["analyze", str(root / "m.safetensors"), "--layout", layout, *extra]
        if config is not None:
            (root / "cfg.json").write_text(json.dumps(config))
            argv += ["--config", str(root / "cfg.json")]
        return argv
    return build


def _nanda(**broken) -> dict:
    """A nanda2023 state dict (d_model 8, 2 heads x 4, d_mlp 16, p 13), with `broken` replacing
    tensors (names with / for dots)."""
    sd = {"embed.W_E": torch.zeros(8, 14), "pos_embed.W_pos": torch.zeros(3, 8),
          "blocks.0.attn.W_Q": torch.zeros(2, 4, 8), "blocks.0.attn.W_K": torch.zeros(2, 4, 8),
          "blocks.0.attn.W_V": torch.zeros(2, 4, 8), "blocks.0.attn.W_O": torch.zeros(8, 8),
          "blocks.0.mlp.W_in": torch.zeros(16, 8), "blocks.0.mlp.b_in": torch.zeros(16),
          "blocks.0.mlp.W_out": torch.zeros(8, 16), "blocks.0.mlp.b_out": torch.zeros(8),
          "unembed.W_U": torch.zeros(16, 14)}
    return {**sd, **{k.replace("/", "."): v for k, v in broken.items()}}


def _tl(**broken) -> dict:
    sd = {"embed.W_E": torch.zeros(14, 8), "pos_embed.W_pos": torch.zeros(3, 8),
          "blocks.0.attn.W_Q": torch.zeros(2, 8, 4), "blocks.0.attn.W_K": torch.zeros(2, 8, 4),
          "blocks.0.attn.W_V": torch.zeros(2, 8, 4), "blocks.0.attn.W_O": torch.zeros(2, 4, 8),
          "blocks.0.mlp.W_in": torch.zeros(8, 16), "blocks.0.mlp.b_in": torch.zeros(16),
          "blocks.0.mlp.W_out": torch.zeros(16, 8), "blocks.0.mlp.b_out": torch.zeros(8),
          "unembed.W_U": torch.zeros(8, 13)}
    return {**sd, **{k.replace("/", "."): v for k, v in broken.items()}}


CHUGHTAI = {"W_x": torch.zeros(24, 4), "W_y": torch.zeros(24, 4), "W": torch.zeros(8, 6),
            "W_U": torch.zeros(6, 24)}
CHUGHTAI_CFG = {"group": "SymmetricGroup", "group_parameter": 4, "frac_train": 0.5, "seed": 1}
PIZZA_CFG = {"C": 13, "attn_coeff": 0.0, "act_fn": "ReLU", "frac": 0.8}


def _pizza() -> dict:
    sd = _nanda(**{"pos_embed/W_pos": torch.zeros(2, 8), "embed/W_E": torch.zeros(8, 13),
                   "unembed/W_U": torch.zeros(16, 13)})
    return sd


CASES = [
    # sweep specs
    Case("spec key with a newline (top level)", _spec(SPEC + '"a\\nb" = 1\n')),
    Case("spec key with a newline ([axes])", _spec(SPEC + '[axes]\n"se\\ned" = [1]\n')),
    Case("spec key with a newline ([slurm])", _spec(SPEC + '[slurm]\n"part\\nition" = "x"\n')),
    Case("spec base is a number", _spec("base = 5\n")),
    Case("spec axes is a string", _spec(SPEC.replace("[base]", "axes = \"seed\"\n[base]"))),
    Case("spec zip is a list", _spec("zip = [1, 2]\n" + SPEC)),
    Case("spec stages is a number", _spec("stages = 5\n" + SPEC)),
    Case("spec stages holds a number", _spec('stages = ["train", 3]\n' + SPEC)),
    Case("spec preset is a list", _spec(SPEC.replace("[base]", '[base]\npreset = ["mlp"]'))),
    Case("spec axis value is nan", _spec(SPEC + "[axes]\nlr = [nan]\n")),
    Case("spec axis value is a table", _spec(SPEC + "[axes]\nlr = [{a = 1}]\n")),
    Case("spec base value is inf", _spec(SPEC.replace("epochs = 20", "epochs = 20\nlr = inf"))),
    Case("spec expands to a million runs", _spec(SPEC + "[axes]\n" + "".join(
        f"{k} = [{', '.join(str(i) for i in range(10))}]\n"
        for k in ("seed", "data_seed", "epochs", "d_mlp", "eval_every", "ckpt_every")))),
    Case("spec slurm mem_gb nan", _spec(SPEC + "[slurm]\nmem_gb = nan\n")),
    Case("spec slurm time_min a bool", _spec(SPEC + "[slurm]\ntime_min = true\n")),
    # the sweep's output directory and flags
    Case("sweep --out is a file", _sweep_out(lambda r: _a_file(r))),
    Case("sweep --out inside a file", _sweep_out(lambda r: _a_file(r) / "sub")),
    Case("sweep --out where nothing can be made", _sweep_out(lambda r: Path("/proc/groklab/out"))),
    Case("sweep --workers 0", _sweep_out(lambda r: r / "out", ("--workers", "0"))),
    Case("sweep --workers -3", _sweep_out(lambda r: r / "out", ("--workers", "-3"))),
    # the results database
    Case("results.duckdb truncated (table)",
         _database(lambda p: p.write_bytes(p.read_bytes()[:100]), "table")),
    Case("results.duckdb random bytes (table)",
         _database(lambda p: p.write_bytes(bytes(range(256)) * 8), "table")),
    Case("results.duckdb random bytes (report)",
         _database(lambda p: p.write_bytes(bytes(range(256)) * 8), "report")),
    Case("results.duckdb random bytes (run)",
         _database(lambda p: p.write_bytes(bytes(range(256)) * 8), "run")),
    Case("results.duckdb of a newer schema (run)", _database(_newer_column, "run")),
    Case("results.duckdb of a newer schema (table)", _database(_newer_column, "table")),
    Case("results.duckdb of a newer schema (report)", _database(_newer_column, "report")),
    # group names
    Case("group name with an Arabic-Indic digit", lambda r: ["train", "--task", "group",
                                                             "--group", "S\u0665", "--out",
                                                             str(r / "run")]),
    Case("group name with a full-width digit", lambda r: ["train", "--task", "group", "--group",
                                                          "S\uff15", "--out", str(r / "run")]),
    Case("group name with a leading zero", lambda r: ["train", "--task", "group", "--group",
                                                      "S05", "--out", str(r / "run")]),
    Case("group name with spaces", lambda r: ["train", "--task", "group", "--group", " S5 ",
                                              "--out", str(r / "run")]),
    # emitted group programs
    Case("program.py: 0001 is not a permutation of S4", _group_program(("0001", "1")), True),
    Case("program.py: superscript digits", _group_program(("\u00b2", "1")), True),
    Case("program.py: an index out of range", _group_program(("24", "1")), True),
    Case("program.py: three arguments", _group_program(("1", "2", "3")), True),
    Case("lookup program.py: superscript digits", _group_program(("\u00b2", "1"), 0), True),
    Case("lookup program.py: a negative index", _group_program(("-1", "1"), 0), True),
    # foreign configs
    Case("chughtai2023 group as a list", _file("chughtai2023", CHUGHTAI,
                                               {**CHUGHTAI_CFG, "group": ["SymmetricGroup"]})),
    Case("chughtai2023 seed 2^70", _file("chughtai2023", CHUGHTAI, {**CHUGHTAI_CFG,
                                                                    "seed": 2**70})),
    Case("chughtai2023 seed a bool", _file("chughtai2023", CHUGHTAI, {**CHUGHTAI_CFG,
                                                                      "seed": True})),
    Case("chughtai2023 group_parameter a string", _file("chughtai2023", CHUGHTAI, {
        **CHUGHTAI_CFG, "group_parameter": "4"})),
    Case("chughtai2023 without its config", _file("chughtai2023", CHUGHTAI)),
    Case("clockpizza2023 attn_coeff true", _file("clockpizza2023", _pizza(), {
        **PIZZA_CFG, "attn_coeff": True}, ("--task", "add"))),
    Case("clockpizza2023 frac 0", _file("clockpizza2023", _pizza(), {**PIZZA_CFG, "frac": 0},
                                        ("--task", "add"))),
    Case("clockpizza2023 C a string", _file("clockpizza2023", _pizza(), {**PIZZA_CFG, "C": "13"},
                                            ("--task", "add"))),
    Case("clockpizza2023 act_fn a number", _file("clockpizza2023", _pizza(), {
        **PIZZA_CFG, "act_fn": 5}, ("--task", "add"))),
    Case("clockpizza2023 diff_vocab a string", _file("clockpizza2023", _pizza(), {
        **PIZZA_CFG, "diff_vocab": "yes"}, ("--task", "add"))),
    # foreign tensors of the wrong rank or size
    Case("nanda2023 1-D embed.W_E", _file("nanda2023", _nanda(**{"embed/W_E": torch.zeros(8)}))),
    Case("nanda2023 mis-sized W_O", _file("nanda2023", _nanda(**{
        "blocks/0/attn/W_O": torch.zeros(8, 5)}))),
    Case("nanda2023 2-D W_Q", _file("nanda2023", _nanda(**{
        "blocks/0/attn/W_Q": torch.zeros(8, 8)}))),
    Case("transformerlens 3-D W_E", _file("transformerlens", _tl(**{
        "embed/W_E": torch.zeros(14, 8, 1)}))),
    Case("transformerlens 2-D W_Q", _file("transformerlens", _tl(**{
        "blocks/0/attn/W_Q": torch.zeros(8, 4)}))),
    Case("transformerlens 1-D W_U", _file("transformerlens", _tl(**{
        "unembed/W_U": torch.zeros(8)}))),
    Case("chughtai2023 1-D W_x", _file("chughtai2023", {**CHUGHTAI, "W_x": torch.zeros(24)},
                                       CHUGHTAI_CFG)),
]


def gone(pgid: int, within: float = 20.0) -> bool:
    """Whether every process of the group has exited (orphaned workers would keep it alive)."""
    deadline = time.time() + within
    while time.time() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def snapshot(root: Path) -> dict[str, str]:
    """Every file under `root` and a digest of its bytes."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def run(case: Case, argv: list[str]) -> tuple[int, str]:
    """(exit status, stderr) of the command: groklab in this process, program.py in a child."""
    if case.program:
        r = subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=60)
        return r.returncode, r.stderr
    from groklab.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as e:  # argparse's own refusals
            code = e.code if isinstance(e.code, int) else 2
    return code, err.getvalue()


def check(case: Case, root: Path) -> tuple[bool, str]:
    """Build the case under `root`, run it, and say whether it held (with its error line)."""
    argv = case.build(root)
    before = snapshot(root)
    code, err = run(case, argv)
    lines = err.strip().splitlines()
    held = code != 0 and len(lines) == 1 and "Traceback" not in err and snapshot(root) == before
    if not case.program:
        held = held and code == 2
    return held, (lines[-1] if lines else f"exit {code}, no message")
