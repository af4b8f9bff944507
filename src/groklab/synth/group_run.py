"""`extract` for group composition: the character program of a checkpoint, verified, emitted as
program.py, with program.json; over a run, the program at every checkpoint (in the final key irreps).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from groklab.analysis.representations import choose_key_irreps, model_logits, scores, view_of
from groklab.models import HookedModel
from groklab.models.io import load_weights
from groklab.store import PROGRAM_FILE, PROGRAM_JSON, RunStore, write_json, write_text
from groklab.analysis.characters import CharacterProgram, fit_program
from groklab.synth.characters import (CharacterVerification, emit_lookup, emit_program,
                                      verify_program)
from groklab.tasks import Dataset


@dataclass
class GroupExtractResult:
    source: dict
    program: CharacterProgram
    verification: CharacterVerification
    source_code: str
    emitted_accuracy: float  # of program.py over all pairs (a lookup table answers only its own)
    curve: list[dict] | None = None  # per checkpoint: epoch, accuracy, agreement, verdict
    first_correct_epoch: int | None = None
    grokked_epoch: int | None = None

    @property
    def verdict(self) -> str:
        return self.verification.verdict

    @property
    def algorithm(self) -> str:
        return self.verification.algorithm

    def to_dict(self) -> dict:
        from groklab.analysis.analyze import _clean

        d = _clean(dataclasses.asdict(self))
        d["program"].pop("elements")
        d["program"].pop("characters")
        return {"verdict": self.verdict, "algorithm": self.algorithm,
                "key_irreps": list(self.program.irreps),
                "program_accuracy": self.emitted_accuracy,
                "agreement": self.verification.agreement, "group": self.program.group, **d}


def extract_group_model(model: HookedModel, data: Dataset, source: dict) -> GroupExtractResult:
    model.eval()
    view = view_of(data)
    logits, _ = model_logits(model, data)
    _, acc = scores(logits, data.labels)
    keys = choose_key_irreps(view, logits, data.labels, acc)
    program = fit_program(view, logits, data, keys.names)
    check = verify_program(view, program, logits, data)
    header = {**{k: v for k, v in source.items() if v is not None}, "algorithm": check.algorithm,
              "verdict": check.verdict, "accuracy_all_pairs": round(check.program_accuracy, 6),
              "agreement_with_network": round(check.agreement, 6)}
    if check.algorithm == "lookup":
        n = view.group.order
        train = data.train_idx
        pairs = list(zip(train // n, train % n))
        answers = logits[train].argmax(1)
        code = emit_lookup(view.group.name, pairs, answers, header)
        emitted = float((answers == data.labels[train]).sum()) / (n * n)
    else:
        code = emit_program(program, view, header)
        emitted = check.program_accuracy
    return GroupExtractResult(source, program, check, code, emitted)


def group_curve(store: RunStore, model: HookedModel, data: Dataset, names: list[str],
                on_checkpoint: Callable[[int, int], None] | None = None) -> list[dict]:
    view = view_of(data)
    points = []
    epochs = store.checkpoint_epochs()
    for i, epoch in enumerate(epochs):
        load_weights(model, store.load_checkpoint(epoch), str(store.checkpoint_path(epoch)))
        logits, _ = model_logits(model, data)
        check = verify_program(view, fit_program(view, logits, data, names, temperature=False),
                               logits, data)
        points.append({"epoch": epoch, "program_accuracy": check.program_accuracy,
                       "agreement": check.agreement, "test_agreement": check.test_agreement,
                       "network_test_accuracy": check.network_test_accuracy,
                       "verdict": check.verdict})
        if on_checkpoint:
            on_checkpoint(i + 1, len(epochs))
    return points


def extract_group_run(store: RunStore, model: HookedModel, epoch: int, data: Dataset, out,
                      json_path, with_curve: bool, on_checkpoint) -> GroupExtractResult:
    cfg = store.read_config()
    result = extract_group_model(model, data, {"run": str(store.path), "checkpoint": epoch,
                                               "preset": cfg.preset})
    if with_curve:
        result.curve = group_curve(store, model, data, result.program.irreps, on_checkpoint)
        load_weights(model, store.load_checkpoint(epoch), str(store.checkpoint_path(epoch)))
        result.first_correct_epoch = next(
            (p["epoch"] for p in result.curve if p["program_accuracy"] == 1.0
             and p["test_agreement"] >= 0.99), None)
        result.grokked_epoch = (store.read_summary() or {}).get("grokked_epoch")
    write_text(Path(out) if out else store.file(PROGRAM_FILE), result.source_code)
    write_json(Path(json_path) if json_path else store.file(PROGRAM_JSON), result.to_dict())
    return result


def format_group_extract(r: GroupExtractResult) -> str:
    v, prog = r.verification, r.program
    pct = lambda x: "-" if x is None else f"{x:.2%}"  # noqa: E731
    lines = [
        f"algorithm: {v.algorithm}   verdict: {v.verdict}   ({v.rule})",
        f"program: logit(c) = {prog.scale:.3g} * sum over {list(prog.irreps)} of alpha * "
        f"chi(a.b.c^-1), alpha {[round(a, 4) for a in prog.alpha]} ({prog.group})",
        f"  accuracy {pct(v.program_accuracy)} on all pairs, {pct(v.program_test_accuracy)} held out",
        f"  agreement with the network {pct(v.agreement)} (held out {pct(v.test_agreement)})",
        f"  substitution: train cross-entropy {v.program_train_loss:.3g} (program) vs "
        f"{v.network_train_loss:.3g} (network)",
        f"  necessity: network accuracy without the key irreps' product component "
        f"{pct(v.ablated_accuracy)}; program accuracy without each irrep: "
        + ", ".join(f"{k} {pct(a)}" for k, a in v.necessity.items()),
        f"  description: {v.n_constants} constants vs {v.lookup_entries} lookup-table entries",
    ]
    if r.curve:
        lines.append(f"over {len(r.curve)} checkpoints: program first right on all pairs (and "
                     f">= 99% held-out agreement) at epoch {r.first_correct_epoch}; network "
                     f"grokked at epoch {r.grokked_epoch}")
    return "\n".join(lines)
