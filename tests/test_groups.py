"""Groups: elements and composition, irreps (known answers), the irreps analysis and the character
program on hand-built networks (known answers) and on memorizers (negative controls)."""

from __future__ import annotations

import json
import subprocess
import sys
from math import factorial

import numpy as np
import pytest
import torch

from conftest import groklab_cli
from handbuilt import character_mlp, fourier_transformer
from groklab.analysis.group.analyze import analyze_group_model
from groklab.models.layouts.chughtai2023 import split as chughtai_dataset
from groklab.analysis.group.representations import group_view
from groklab.config import TaskConfig
from groklab.errors import GroklabError
from groklab.groups.elements import make_group
from groklab.groups.irreps import (check, conjugacy_classes, cycle_type, irreps, murnaghan_nakayama,
                                   partitions, projector, resolve)
from groklab.synth.group_program import extract_group_model
from groklab.tasks import make_dataset

GROUPS = ["S3", "S4", "S5", "A4", "A5", "D6", "D7", "C8", "C9"]
N_IRREPS = {"S3": 3, "S4": 5, "S5": 7, "A4": 3, "A5": 5, "D6": 6, "D7": 5, "C8": 5, "C9": 5}


@pytest.mark.parametrize("name", GROUPS)
def test_irreps_are_homomorphisms_with_orthogonal_characters(name):
    g = make_group(name)
    reps = irreps(g)
    c = check(g, reps)
    assert c["homomorphism_error"] <= 1e-9
    assert c["character_gram_error"] <= 1e-9
    assert c["sum_isotypic_dims"] == g.order  # Σ d² = |G| (d²/2 for a merged complex pair)
    assert len(reps) == N_IRREPS[name]
    assert len({r.name for r in reps}) == len(reps)
    for r in reps:  # real orthogonal matrices
        eye = np.einsum("gij,gkj->gik", r.matrices, r.matrices)
        assert np.abs(eye - np.eye(r.dim)).max() < 1e-9


def test_s5_irreps_are_the_partitions_with_murnaghan_nakayama_characters():
    g = make_group("S5")
    reps = irreps(g)
    assert sorted(r.name for r in reps) == sorted(
        "(" + ",".join(map(str, lam)) + ")" for lam in partitions(5))
    assert {r.name: r.dim for r in reps} == {"(5)": 1, "(4,1)": 4, "(3,2)": 5, "(3,1,1)": 6,
                                             "(2,2,1)": 5, "(2,1,1,1)": 4, "(1,1,1,1,1)": 1}
    types = [cycle_type(p) for p in g.perms]
    for r in reps:
        lam = tuple(int(x) for x in r.name.strip("()").split(","))
        want = np.array([murnaghan_nakayama(lam, mu) for mu in types])
        assert np.abs(r.character - want).max() < 1e-9
    # textbook values, independent of the numerical irreps
    assert murnaghan_nakayama((4, 1), (2, 1, 1, 1)) == 2
    assert murnaghan_nakayama((3, 1, 1), (5,)) == 1
    assert murnaghan_nakayama((3, 2), (3, 1, 1)) == -1
    assert murnaghan_nakayama((2, 2, 1), (2, 2, 1)) == 1
    assert sum(murnaghan_nakayama(lam, (1,) * 6) ** 2 for lam in partitions(6)) == factorial(6)
    assert resolve(g, reps, "standard").name == "(4,1)"
    assert resolve(g, reps, "sign").name == "(1,1,1,1,1)"
    with pytest.raises(GroklabError, match="not an irrep of S5"):
        resolve(g, reps, "(6)")


def test_projectors_partition_functions_on_the_group():
    g = make_group("S4")
    reps = irreps(g)
    total = np.zeros((g.order, g.order))
    for r in reps:
        p = projector(g, r)
        assert np.abs(p - p.T).max() < 1e-12
        assert np.abs(p @ p - p).max() < 1e-12
        assert round(np.trace(p)) == r.isotypic_dim
        total += p
    assert np.abs(total - np.eye(g.order)).max() < 1e-12


def test_their_numbering_is_how_their_code_enumerates():
    """Chughtai et al.'s SymmetricGroup numbers elements as sympy's SymmetricGroup(n)._elements
    (Schreier–Sims order): that reproduces their published S5 table exactly, and gives S6."""
    named = pytest.importorskip("sympy.combinatorics.named_groups")
    from groklab.groups.chughtai2023 import ELEMENTS

    for n in (5, 6):
        theirs = ["".join(map(str, p.array_form)) for p in named.SymmetricGroup(n).elements]
        assert ELEMENTS[f"S{n}"] == theirs
    s6 = make_group("S6", "chughtai2023")
    perms = s6.perms
    perms_of = named.SymmetricGroup(6).elements
    for a, b in [(0, 1), (5, 700), (719, 3)]:  # their compose: sympy's p*q (p first, then q)
        assert (perms[s6.table[a, b]] == perms[b][perms[a]]).all()
        assert perms_of.index(perms_of[a] * perms_of[b]) == s6.table[a, b]


def test_conventions_and_numberings():
    s5 = make_group("S5", "chughtai2023")
    assert s5.identity == 20 and s5.table[0, 1] == 101  # the numbering table's own example
    lex = make_group("S5")
    assert lex.identity == 0 and lex.label(1) == "01243"
    for name in ("S4", "A5", "D7", "C9"):
        g = make_group(name)
        for a in range(0, g.order, 3):
            for b in range(0, g.order, 5):  # a·b = apply a first, then b
                assert (g.perms[g.table[a, b]] == g.perms[b][g.perms[a]]).all()
    d = make_group("D5")
    assert d.table[1, 5] == 6 and d.table[5, 1] == 9  # (r1,0)(0,1) = (1,1); (0,1)(1,0) = (-1,1)
    assert len(np.unique(conjugacy_classes(make_group("S5")))) == 7
    a5 = make_group("A5")
    assert a5.parse(a5.label(7)) == 7 and a5.parse("7") == 7


@pytest.mark.parametrize("group,keys", [("S5", ("(4,1)", "(1,1,1,1,1)")), ("A5", ("(3,1,1)+",)),
                                        ("D7", ("freq_2",)), ("S4", ("(2,2)", "(3,1)")),
                                        # even n: D_n's extra 1-d irreps, C_n's real k = n/2
                                        ("D6", ("rot", "freq_1")), ("D8", ("ref", "freq_3")),
                                        ("C12", ("freq_6", "freq_5")),
                                        ("C118", ("freq_59", "freq_2"))])  # C2 × C59: freq_2 needs the sign
def test_handbuilt_character_network_is_recovered(group, keys):
    # C118's neighbouring answers differ by 1 - cos(4π/118) in χ_freq_2: a larger scale gives the
    # network the margins (and the low loss) that trained ones have
    model = character_mlp(group, keys, alphas=[1.0, 0.5][:len(keys)],
                          scale=400.0 if group == "C118" else 6.0)
    data = make_dataset(TaskConfig(name="group", group=group, frac_train=0.5))
    r = analyze_group_model(model, data, {"kind": "test"})
    assert sorted(r.key_irreps) == sorted(keys)
    assert r.grokked and r.accuracy == 1.0
    assert r.algorithm == "characters"
    assert r.program["program_accuracy"] == 1.0 and r.program["agreement"] == 1.0
    assert r.program["ablated_accuracy"] <= 0.10
    assert extract_group_model(model, data, {"kind": "test"}).verdict == "algorithmic"
    # every key irrep is necessary, no other irrep carries anything
    assert all(r.snapshot.keys.necessary.values())
    for row in r.snapshot.per_irrep:
        assert (row["logit_share"] > 0.01) == (row["irrep"] in keys)


def test_emitted_program_runs_standalone_and_agrees(tmp_path):
    model = character_mlp("S5", ("(4,1)", "(1,1,1,1,1)"))
    data = make_dataset(TaskConfig(name="group", group="S5", frac_train=0.5))
    result = extract_group_model(model, data, {"kind": "test"})
    assert result.verdict == "algorithmic" and result.algorithm == "characters"
    path = tmp_path / "program.py"
    path.write_text(result.source_code)
    g = make_group("S5")
    out = subprocess.run([sys.executable, str(path), "01423", "12034"], capture_output=True,
                         text=True, check=True).stdout.split()
    want = g.table[g.parse("01423"), g.parse("12034")]
    assert int(out[0]) == want and out[1] == g.label(want)
    namespace: dict = {}
    exec(compile(result.source_code, str(path), "exec"), namespace)
    rng = np.random.default_rng(0)
    for a, b in rng.integers(0, g.order, size=(150, 2)):
        assert namespace["answer"](int(a), int(b)) == g.table[a, b]
    bad = subprocess.run([sys.executable, str(path), "01423", "99999"], capture_output=True,
                         text=True)
    assert bad.returncode == 1 and "not an element of S5" in bad.stderr


def _memorizer(group: str = "S4", epochs: int = 400):
    from groklab.config import ModelConfig
    from groklab.models import build_model

    data = make_dataset(TaskConfig(name="group", group=group, frac_train=0.3, data_seed=1))
    model = build_model(ModelConfig(kind="mlp", d_model=64, d_mlp=256), data.task.p, 0)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    x, y = torch.as_tensor(data.pairs[data.train_idx]), torch.as_tensor(data.labels[data.train_idx])
    for _ in range(epochs):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model, data


def test_memorizer_is_not_called_an_algorithm(tmp_path):
    model, data = _memorizer("S5", 300)
    r = analyze_group_model(model, data, {"kind": "test"})
    assert not r.grokked and r.notes[0].startswith("not grokked")
    assert r.algorithm == "lookup" and r.program["test_agreement"] < 0.5
    result = extract_group_model(model, data, {"kind": "test"})
    assert result.verdict == "memorizing" and result.algorithm == "lookup"
    path = tmp_path / "program.py"
    path.write_text(result.source_code)
    held_out = int(data.test_idx[0])
    n = data.task.p
    run = subprocess.run([sys.executable, str(path), str(held_out // n), str(held_out % n)],
                         capture_output=True, text=True)
    assert run.returncode == 1 and "no answer" in run.stderr
    assert result.to_dict()["program_accuracy"] <= 0.3 + 1e-9


def test_untrained_network_has_no_algorithm():
    from groklab.config import ModelConfig
    from groklab.models import build_model

    data = make_dataset(TaskConfig(name="group", group="S4", frac_train=0.5))
    model = build_model(ModelConfig(kind="mlp", d_model=32, d_mlp=64), data.task.p, 3)
    r = analyze_group_model(model, data, {"kind": "test"})
    assert not r.grokked and r.algorithm == "lookup"


def test_cyclic_group_path_matches_the_fourier_path():
    from groklab.analysis.cyclic.analyze import analyze_model

    p, freqs = 31, (3, 7, 11)
    model = fourier_transformer(p, freqs)
    fourier = analyze_model(model, make_dataset(TaskConfig(name="add", p=p, frac_train=0.5)),
                            {"kind": "test"})
    grouped = analyze_group_model(model, make_dataset(
        TaskConfig(name="group", group=f"C{p}", frac_train=0.5)), {"kind": "test"})
    assert fourier.key_frequencies == list(freqs)
    assert grouped.key_irreps == [f"freq_{k}" for k in freqs]
    assert grouped.algorithm == "characters" and grouped.program["program_accuracy"] == 1.0


def test_chughtai_split_and_import(tmp_path):
    cfg = {"group": "SymmetricGroup", "group_parameter": 5, "frac_train": 0.4, "seed": 7,
           "layers": {"embed_dim": 17, "hidden_dim": 130}, "lr": 1e-3, "weight_decay": 1.0}
    data, _ = chughtai_dataset("S5", cfg, "cfg.json")
    torch.manual_seed(7)
    order = torch.randperm(120 * 120).numpy()
    assert np.array_equal(data.train_idx, np.sort(order[:int(0.4 * 14400)]))
    assert data.labels[1] == 101 and data.task.element_order == "chughtai2023"
    # a hand-built character network in their numbering and file layout
    model = character_mlp("S5", ("(4,1)", "(2,2,1)"), element_order="chughtai2023")
    sd = {"W_x": model.W_E.detach().float(), "W_y": model.W_E_b.detach().float(),
          "W": model.W_in.detach().float(), "W_U": model.W_U.detach().float()}
    torch.save(sd, tmp_path / "model.pt")
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    out = groklab_cli("analyze", str(tmp_path / "model.pt"), "--layout", "chughtai2023",
                      "--config", str(tmp_path / "cfg.json"), "--act", "quadratic")
    assert out.returncode == 0, out.stderr
    result = json.loads((tmp_path / "model.analysis.json").read_text())
    assert sorted(result["key_irreps"]) == ["(2,2,1)", "(4,1)"]
    assert result["accuracy"] == 1.0 and result["grokked"] is True
    assert result["group"] == "S5" and result["kind"] == "group"
    ext = groklab_cli("extract", str(tmp_path / "model.pt"), "--layout", "chughtai2023",
                      "--config", str(tmp_path / "cfg.json"), "--act", "quadratic")
    assert ext.returncode == 0, ext.stderr
    assert "verdict: algorithmic" in ext.stdout
    g = make_group("S5", "chughtai2023")
    run = subprocess.run([sys.executable, str(tmp_path / "model.program.py"), "0", "1"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert int(run[0]) == 101 and run[1] == g.label(101)  # their numbering's own example
    missing = groklab_cli("analyze", str(tmp_path / "model.pt"), "--layout", "chughtai2023")
    assert missing.returncode == 2 and "--config" in missing.stderr


@pytest.mark.parametrize("args,needle", [
    (["--group", "S9"], "at most 5000"),
    (["--group", "Q8"], "not a group groklab knows"),
    (["--group", "A6", "--element-order", "chughtai2023"], "known for S5, A5, S6"),
    (["--group", "S7"], "at most 5000"),
    (["--group", "S5", "--p", "7"], "--p 7 does not apply"),
    ([], "needs a group"),
])
def test_bad_group_input_is_one_line(tmp_path, args, needle):
    out = groklab_cli("train", "--task", "group", *args, "--epochs", "1", "--out",
                      str(tmp_path / "r"))
    assert out.returncode == 2 and needle in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert not (tmp_path / "r").exists()


def test_group_view_fibres_are_the_pairs_with_each_product():
    view = group_view("A4")
    g = view.group
    assert (view.pair_product[view.fibre] == np.arange(g.order)[None, :]).all()


GROUP_FIGURES = ("fig-curves", "fig-irreps", "fig-irrep-ablations", "fig-progress", "fig-cosets",
                 "fig-characters")


def test_group_run_pipeline_and_report_in_chromium(tmp_path):
    from conftest import group_handbuilt_run
    from test_report import _chromium, render_in_chromium

    run_dir = tmp_path / "s4 <run>"
    group_handbuilt_run(run_dir)
    for stage in ("analyze", "extract", "report"):
        out = groklab_cli(stage, str(run_dir))
        assert out.returncode == 0, out.stderr
    analysis = json.loads((run_dir / "analysis.json").read_text())
    assert analysis["key_irreps"] == ["(3,1)", "(2,2)"] and analysis["grokked"] is True
    assert set(analysis["irrep_fractions"]) == {"(4)", "(3,1)", "(2,2)", "(2,1,1)", "(1,1,1,1)"}
    assert len(analysis["progress"]) == 11 and analysis["phases"]["grokked_epoch"] == 60
    # the progress measure moves with the network: restricted loss falls as the weights arrive
    assert analysis["progress"][-1]["restricted_loss"] < analysis["progress"][0]["restricted_loss"]
    program = json.loads((run_dir / "program.json").read_text())
    assert program["verdict"] == "algorithmic" and program["algorithm"] == "characters"
    assert program["key_irreps"] == ["(3,1)", "(2,2)"] and program["program_accuracy"] == 1.0
    html = (run_dir / "report.html").read_text()
    assert "s4 &lt;run&gt;" in html and "s4 <run>" not in html
    chromium = _chromium()
    if chromium is None:
        pytest.skip("chromium not installed (apt-get install chromium)")
    result = render_in_chromium(chromium, html, tmp_path)
    assert result["errors"] == []
    assert sorted(p["id"] for p in result["plots"]) == sorted(GROUP_FIGURES)
    for plot in result["plots"]:
        assert plot["svg"] and plot["traces"] > 0 and plot["height"] > 100, plot


@pytest.mark.slow
def test_s5_preset_groks_and_its_character_program_is_verified(tmp_path):
    """The real thing: the s5 preset trained (seed 0), memorizing first and grokking later; key
    irreps found (the standard irrep (4,1) among them, as in every published seed), the character
    program right on all 14,400 pairs and verified algorithmic."""
    from groklab.engine import analyze_run
    from groklab.config import preset
    from groklab.engine import extract_run
    from groklab.train import run

    result = run(preset("s5"), tmp_path / "s5", quiet=True, threads=1)
    s = result.summary
    assert s["memorized_epoch"] is not None and s["grokked_epoch"] is not None
    assert s["grokked_epoch"] >= s["memorized_epoch"] + 300  # memorize first, grok well after
    analysis = analyze_run(tmp_path / "s5")
    assert analysis.grokked and "(4,1)" in analysis.key_irreps
    assert "(3,1,1)" not in analysis.key_irreps
    assert analysis.restricted_accuracy >= 0.99
    assert analysis.phases.memorization_end < analysis.phases.grokked_epoch
    program = extract_run(tmp_path / "s5")
    assert program.verdict == "algorithmic" and program.algorithm == "characters"
    assert program.verification.program_accuracy == 1.0
    assert program.verification.lookup_entries == 14400
    code = subprocess.run([sys.executable, str(tmp_path / "s5" / "program.py"), "01423", "12034"],
                          capture_output=True, text=True, check=True).stdout.split()
    g = make_group("S5")
    assert int(code[0]) == g.table[g.parse("01423"), g.parse("12034")]
