"""The shape of the house: data flows one way (no import runs back up a layer, no import cycles),
one domain choice, functions short enough to read, and one read of each checkpoint per command."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import group_handbuilt_run, handbuilt_run

SRC = Path(__file__).resolve().parents[1] / "src" / "groklab"

# Lower layers first; a module may import only its own layer or lower ones (docs/architecture.md).
LAYERS = [
    ["errors", "rules", "epochs"],
    ["groups"],
    ["config"],
    ["tasks"],
    ["store"],
    ["models"],
    ["train"],
    ["sources"],
    ["analysis"],
    ["synth"],
    ["engine"],
    ["report"],
    ["sweep", "api", "cli", "__init__", "__main__"],
]
# Compatibility re-exports resolved on first attribute access (PEP 562), never at import time:
# `groklab.analysis.analyze_run` and `groklab.synth.extract_run` of earlier versions.
COMPAT = {("analysis/__init__.py", "engine"), ("synth/__init__.py", "engine")}


def _top(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "groklab" and len(parts) > 1 else None


def _imports(path: Path, modules: set[str] = frozenset()) -> list[str]:
    """Every groklab module `path` imports, at the top or inside functions (`from pkg import sub`
    of a submodule counts as importing the submodule)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = [f"{node.module}.{a.name}" for a in node.names]
            out += [m for m in subs if m in modules] or [node.module]
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names]
    return [m for m in out if m.startswith("groklab")]


def _layer(top: str) -> int:
    return next(i for i, names in enumerate(LAYERS) if top in names)


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_every_module_is_in_a_layer():
    tops = {p.relative_to(SRC).parts[0].removesuffix(".py") for p in _sources()}
    assert tops <= {t for layer in LAYERS for t in layer}, tops


def test_no_import_runs_up_a_layer():
    ups = []
    for path in _sources():
        rel = path.relative_to(SRC)
        own = _layer(rel.parts[0].removesuffix(".py"))
        for module in _imports(path):
            top = _top(module)
            if top is None or top == "__version__":
                continue
            if _layer(top) > own and (str(rel), top) not in COMPAT:
                ups.append(f"{rel} imports {module}")
    assert not ups, ups


def test_no_import_cycles():
    modules = {_module_name(p): p for p in _sources()}
    graph = {name: {m for m in _imports(path, set(modules)) if m in modules and m != name}
             for name, path in modules.items()}
    for rel, top in COMPAT:  # resolved at first use, not at import
        name = _module_name(SRC / rel)
        graph[name] = {m for m in graph[name] if not m.startswith(f"groklab.{top}")}
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, cycles


def test_functions_are_at_most_60_lines():
    long = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > 60:
                    long.append(f"{path.relative_to(SRC)}::{node.name} ({n} lines)")
    assert not long, long


def test_the_domain_is_chosen_in_one_place():
    """Only the domains say which tasks they handle (engine/domain.py asks them), only the report's
    page table reads a stored kind; nothing else tests a task's name for "group" or asks a result
    what it holds (config and tasks validate and build the group task itself)."""
    offenders = []
    for path in _sources():
        rel = str(path.relative_to(SRC))
        text = path.read_text()
        for needle in ('task.name == "group"', "hasattr(result", 'getattr(result, "kind"',
                       'analysis.get("kind")'):
            if needle in text and rel not in ("engine/group.py", "config.py", "tasks.py",
                                                          "report/pages.py"):
                offenders.append(f"{rel}: {needle}")
    assert not offenders, offenders


def _count_reads(monkeypatch) -> dict[int, int]:
    from groklab.store import RunStore

    reads: dict[int, int] = {}
    original = RunStore.load_checkpoint

    def counting(self, epoch):
        reads[epoch] = reads.get(epoch, 0) + 1
        return original(self, epoch)

    monkeypatch.setattr(RunStore, "load_checkpoint", counting)
    return reads


@pytest.mark.parametrize("build", [handbuilt_run, group_handbuilt_run])
def test_each_checkpoint_file_is_read_once_per_command(tmp_path, monkeypatch, build):
    from groklab.engine import analyze_and_extract, analyze_run, extract_run

    store = build(tmp_path / "run")
    epochs = store.checkpoint_epochs()
    reads = _count_reads(monkeypatch)
    analyze_run(store.path)
    assert reads == {e: 1 for e in epochs}
    reads.clear()
    extract_run(store.path)
    assert reads == {e: 1 for e in epochs}
    reads.clear()
    analyze_and_extract(store.path)  # groklab demo: both stages, one pass
    assert reads == {e: 1 for e in epochs}


def test_one_pass_gives_what_the_two_commands_give(tmp_path):
    """analyze_and_extract (groklab demo) writes the same analysis.json and program.json as
    analyze_run then extract_run."""
    import json

    from groklab.engine import analyze_and_extract, analyze_run, extract_run

    store = handbuilt_run(tmp_path / "run")
    analyze_run(store.path)
    extract_run(store.path)
    separate = [json.loads(store.file(f).read_text()) for f in ("analysis.json", "program.json")]
    analyze_and_extract(store.path)
    together = [json.loads(store.file(f).read_text()) for f in ("analysis.json", "program.json")]
    assert together == separate
