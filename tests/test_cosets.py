"""Cosets beside irreps: the subgroup catalogue read from the table, coset concentration (Stander et
al. 2024) with its null, the dictionary to irreps, the coset program and the |x| experiment, on
hand-built networks whose answers are known."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest
import torch

from handbuilt import character_mlp, coset_mlp
from groklab.analysis.group import cosets as cs
from groklab.analysis.group.analyze import analyze_group_model
from groklab.analysis.group.representations import model_logits, view_of
from groklab.config import ModelConfig, TaskConfig
from groklab.errors import GroklabError
from groklab.groups import subgroups as sg
from groklab.groups.elements import Group, make_group
from groklab.models import build_model
from groklab.rules import COSET_CONCENTRATED
from groklab.tasks import make_dataset


@lru_cache(maxsize=None)
def _s5():
    data = make_dataset(TaskConfig(name="group", group="S5", frac_train=0.5))
    return data, view_of(data)


@pytest.mark.parametrize("name,subgroups,classes", [
    ("S4", 30, 11), ("S5", 156, 19), ("A5", 59, 9), ("A6", 501, 22), ("D6", 16, 10),
    ("D8", 19, 11), ("C12", 6, 6), ("C7", 2, 2)])
def test_the_catalogue_holds_every_subgroup(name, subgroups, classes):
    g = make_group(name)
    cat = sg.catalogue(g)
    assert (len(cat.subgroups), len(cat.classes)) == (subgroups, classes)
    keys = {tuple(h) for h in cat.subgroups}
    assert len(keys) == subgroups  # distinct
    for h in cat.subgroups:  # closed, with the identity
        assert g.identity in h and np.isin(g.table[np.ix_(h, h)], h).all()
    for c in cat.classes:  # the members of a class are the conjugates of one
        assert c.size == len(sg.conjugates(g, np.isin(np.arange(g.order), cat.subgroups[c.members[0]])))
        assert all(len(cat.subgroups[m]) == c.order for m in c.members)


def test_s5_classes_are_named_and_their_cosets_partition_the_group():
    cat = sg.catalogue(make_group("S5"))
    assert [c.name for c in cat.classes] == [
        "1", "C2", "C2", "C3", "C2×C2", "C2×C2", "C4", "C5", "C6", "S3", "S3", "D4", "D5", "A4",
        "S3×C2", "F20", "S4", "A5", "S5"]
    assert {c.label: c.size for c in cat.classes}["S4"] == 5
    assert [c.label for c in cat.classes if c.normal] == ["1", "A5", "S5"]
    for s in range(len(cat.subgroups)):
        h = len(cat.subgroups[s])
        for order, table in ((cat.right_coset_order[s], cat.group.table[cat.subgroups[s], :]),
                             (cat.left_coset_order[s], cat.group.table[:, cat.subgroups[s]].T)):
            blocks = order.reshape(-1, h)  # each block one coset: the same least element
            least = table.min(0)[blocks]
            assert (least == least[:, :1]).all() and len(np.unique(least[:, 0])) == len(blocks)


def test_labels_do_not_depend_on_the_numbering():
    g = make_group("S5")
    rng = np.random.default_rng(3)
    perm = rng.permutation(g.order)  # element i is renamed perm[i]
    inv = np.argsort(perm)
    table = perm[g.table[inv[:, None], inv[None, :]]]
    renamed = Group("S5", g.family, g.param, "renamed", g.perms[inv], table)
    ours = [(c.label, c.order, c.size) for c in sg.catalogue(g).classes]
    theirs = [(c.label, c.order, c.size) for c in sg.catalogue(renamed).classes]
    assert ours == theirs


def test_the_catalogue_is_cached_on_disk_and_refuses_large_groups(tmp_path, monkeypatch):
    monkeypatch.setenv("GROKLAB_CACHE", str(tmp_path))
    g = make_group("S4")
    built = sg._build(g)
    path = tmp_path / "subgroups" / f"{sg._table_key(g)}.npz"
    sg._save(path, built)
    loaded = sg._load(path, g)
    assert [tuple(h) for h in loaded.subgroups] == [tuple(h) for h in built.subgroups]
    assert loaded.classes == built.classes
    with pytest.raises(GroklabError, match="at most 720 elements; D400 has 800"):
        sg.catalogue(make_group("D400"))


@pytest.mark.slow
def test_s6_needs_three_generators_and_has_1455_subgroups():
    g = make_group("S6")
    cat = sg._build(g)
    assert (len(cat.subgroups), len(cat.classes)) == (1455, 56)
    three = [g.parse(x) for x in ("102345", "013245", "012354")]  # (01), (23), (45)
    mask = np.zeros(g.order, bool)
    mask[g.identity] = True
    for x in three:
        mask = sg.closure(g, np.flatnonzero(mask), x)
    assert mask.sum() == 8 and tuple(np.flatnonzero(mask)) in {tuple(h) for h in cat.subgroups}


def test_permutation_modules_by_characters():
    _, view = _s5()
    cat = sg.catalogue(view.group)
    mult = lambda label: {k: v for k, v in cs.multiplicities(  # noqa: E731
        view, cat.permutation_character(cat.by_label(label).members[0])).items() if v}
    assert mult("S4") == {"(5)": 1, "(4,1)": 1}  # the 5 points: trivial + standard
    assert mult("A5") == {"(5)": 1, "(1,1,1,1,1)": 1}  # ± : trivial + sign
    assert mult("1") == {r.name: r.dim for r in view.irreps}  # the regular representation
    chi = cat.permutation_character(cat.by_label("S4").members[0])
    assert chi[view.group.identity] == 5 and sorted(set(chi)) == [0, 1, 2, 3, 5]


def test_concentration_is_zero_on_cosets_and_the_index_at_random():
    _, view = _s5()
    cat = sg.catalogue(view.group)
    subs = cat.proper()
    s4 = cat.by_label("S4").members[0]
    coset = view.group.table[cat.subgroups[s4], :].min(0)  # right coset Hg of every element
    f = (coset[None, :] == np.unique(coset)[:, None]).astype(float)  # one indicator per coset
    c = cs.concentration(f, cat, "left", np.array([s4]))
    assert np.allclose(c, 0)
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((400, view.group.order))
    for label, index in (("A5", 2), ("S4", 5), ("C2 (10 conj.)", 60)):
        s = cat.by_label(label).members[0]
        mean = cs.concentration(noise, cat, "left", np.array([s])).mean()
        assert abs(mean / index - 1) < 0.1, (label, mean)
    null = cs.null_min_c(cat, subs)
    assert 1.6 < null < 2.2  # min over subgroups: A5 (index 2) sets it


def _mixed(view, target: float) -> np.ndarray:
    """An S4 coset indicator plus noise, scaled so that its C on S4 is about `target`:
    C ≈ 5 t²|noise|² / (|base|² + t²|noise|²)."""
    cat = sg.catalogue(view.group)
    s4 = cat.by_label("S4").members[0]
    coset = view.group.table[cat.subgroups[s4], :].min(0)
    base = (coset == coset[0]).astype(float)
    noise = np.random.default_rng(1).standard_normal(view.group.order)
    noise -= noise.mean()
    nb, nn = base.var() * len(base), noise.var() * len(noise)
    return base + np.sqrt(target * nb / (nn * (5 - target))) * noise


def test_the_threshold_has_chance_on_one_side_and_cosets_on_the_other():
    _, view = _s5()
    cat = sg.catalogue(view.group)
    subs = cat.proper()
    mixed = lambda target: _mixed(view, target)  # noqa: E731
    below = cs.concentration(mixed(0.6)[None], cat, "left", subs).min()
    above = cs.concentration(mixed(1.6)[None], cat, "left", subs).min()
    assert below < COSET_CONCENTRATED < above


def test_exact_means_below_one_hundredth():
    _, view = _s5()
    left = np.stack([_mixed(view, 0.003), _mixed(view, 0.03)])
    summary, neurons, _ = cs.measure(view, {"left": left, "right": np.zeros_like(left)})
    assert 0.001 < neurons[0]["left"]["c"] < 0.01 < neurons[1]["left"]["c"] < 0.1
    assert summary["parts"] == 2 and summary["fraction_concentrated"] == 1.0
    assert summary["fraction_below_0_01"] == 0.5 and neurons[0]["right"] is None


@pytest.mark.parametrize("label", ["S4", "A4", "F20"])
def test_a_coset_network_is_read_as_cosets_of_its_subgroup(label):
    data, view = _s5()
    model = coset_mlp("S5", (label,))
    logits, _ = model_logits(model, data)
    assert (logits.argmax(1) == data.labels).all()
    c = cs.coset_analysis(model, data, view, logits).to_dict()
    assert c["fraction_concentrated"] == c["fraction_below_0_01"] == 1.0
    assert c["winning_subgroups"] == {label: c["parts"]}
    assert c["sides"]["left"] == c["sides"]["right"] == c["parts"] // 2
    assert c["dictionary_agreement"] == 1.0
    assert all(n["left"]["c"] == 0 and n["left"]["cosets"] == "right cosets Hg"
               and n["right"]["cosets"] == "left cosets gH" for n in c["neurons"])
    prog = c["program"]
    assert prog["subgroups"] == [label] and prog["evidence"]["logit_fve"] > 0.999
    assert prog["agreement"] == 1.0 and prog["ablated_accuracy"] < 0.05
    # the coset subspace carries the answer; a random subspace of the same rank does not
    abl = c["ablation"]
    assert abl["parts"] == c["parts"] and abl["coset"]["accuracy"] < 0.1
    assert abl["random"]["accuracy"] == 1.0


def test_a_random_network_has_no_coset_account():
    data, view = _s5()
    cfg = ModelConfig(kind="mlp", d_model=64, d_mlp=64, embed="separate", bias=False)
    model = build_model(cfg, view.group.order, 0).double()
    logits, _ = model_logits(model, data)
    c = cs.coset_analysis(model, data, view, logits).to_dict()
    assert c["fraction_concentrated"] == 0.0 and c["winning_subgroups"] == {}
    assert abs(c["median_min_c"] - c["null_min_c"]) < 0.3
    assert c["program"] == {"subgroups": [], "why_none": "no operand part is coset-concentrated"}
    assert c["ablation"] is None


def test_a_character_network_reads_as_the_dictionary_says():
    """Standard + sign characters: the sign parts are constant on A5's cosets (C = 0); the standard
    irrep's matrix entries are below 1 on a transposition's cosets without being constant, and the
    irreps they read lie in the winning permutation modules. The coset program, restricted to
    permutation characters, explains the logits less well than the character program."""
    data, view = _s5()
    model = character_mlp()
    result = analyze_group_model(model, data, {"kind": "test"})
    c = result.cosets
    assert c["fraction_concentrated"] == 1.0 and 0.1 < c["fraction_below_0_01"] < 0.5
    assert set(c["winning_subgroups"]) == {"C2 (10 conj.)", "A5"}
    assert c["dictionary_agreement"] == 1.0
    sign = [n for n in c["neurons"] if n["left"] and n["left"]["irrep"] == "(1,1,1,1,1)"]
    assert sign and all(n["left"]["subgroup"] == "A5" and n["left"]["c"] == 0 for n in sign)
    coset_fve = c["program"]["evidence"]["logit_fve"]
    assert coset_fve < 0.8 < result.program["evidence"]["logit_fve"]
    assert any(line.startswith("cosets: 100.0%") for line in result.summary_lines())


def test_the_abs_experiment_replaces_every_activation():
    data, view = _s5()
    cfg = ModelConfig(kind="mlp", d_model=16, d_mlp=32, embed="separate", bias=False)
    model = build_model(cfg, view.group.order, 0).double()
    out = cs.absolute_activation(model, data)
    assert out["abs"]["loss"] != out["network"]["loss"]
    with torch.no_grad():  # non-negative pre-activations: |x| is ReLU, nothing changes
        for w in (model.W_E, model.W_E_b, model.W_in):
            w.abs_()
    out = cs.absolute_activation(model, data)
    assert out["abs"] == out["network"] and out["activation"] == "relu"


def test_coset_progress_and_where_the_account_applies():
    data, view = _s5()
    model = coset_mlp("S5", ("F20",))
    assert cs.coset_progress(model, data, view) == (1.0, 0.0)
    c7 = make_dataset(TaskConfig(name="group", group="C7", frac_train=0.5))
    small = build_model(ModelConfig(kind="mlp", d_model=8, d_mlp=8, embed="separate"), 7, 0)
    assert not cs.applies(view_of(c7), small)  # prime order: no proper subgroup
    assert analyze_group_model(small, c7, {"kind": "test"}).cosets is None


def test_the_coset_program_is_extracted_verified_and_runs(tmp_path):
    import subprocess
    import sys

    from groklab.synth.group_program import extract_group_model

    data, view = _s5()
    model = coset_mlp("S5", ("F20",))
    result = extract_group_model(model, data, {"kind": "test"}, "cosets")
    d = result.to_dict()
    assert (d["program_kind"], d["algorithm"], d["verdict"]) == ("cosets", "cosets", "algorithmic")
    assert d["subgroups"] == ["F20"] and d["key_irreps"] == ["(2,2,1)"]
    assert "cosets" in d["verification"]["rule"]
    path = tmp_path / "program.py"
    path.write_text(result.source_code)
    assert "coset program" in result.source_code.splitlines()[0]
    g = view.group
    a, b = 17, 93
    out = subprocess.run([sys.executable, str(path), str(a), str(b)], capture_output=True,
                         text=True, check=True).stdout.split()
    assert int(out[0]) == g.table[view.structure.sigma[a], view.structure.tau[b]]
    # the same network's character program reads the irrep the coset module holds
    characters = extract_group_model(model, data, {"kind": "test"}).to_dict()
    assert characters["program_kind"] == "characters" and characters["key_irreps"] == ["(2,2,1)"]
    # an untrained network has no coset program that passes
    cfg = ModelConfig(kind="mlp", d_model=64, d_mlp=64, embed="separate", bias=False)
    untrained = extract_group_model(build_model(cfg, g.order, 0).double(), data, {}, "cosets")
    assert untrained.verdict != "algorithmic" and untrained.algorithm == "lookup"


def test_program_cosets_on_a_task_without_cosets_is_one_line(tmp_path):
    from conftest import groklab_cli, handbuilt_run

    store = handbuilt_run(tmp_path / "run")
    out = groklab_cli("extract", str(store.path), "--program", "cosets", "--no-curve")
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "group tasks" in out.stderr and not (store.path / "program.json").exists()
    from groklab.synth.group_program import extract_group_model
    c7 = make_dataset(TaskConfig(name="group", group="C7", frac_train=0.5))
    small = build_model(ModelConfig(kind="mlp", d_model=8, d_mlp=8, embed="separate"), 7, 0)
    with pytest.raises(GroklabError, match="C7 has no proper non-trivial subgroup"):
        extract_group_model(small, c7, {}, "cosets")


def test_a_transformer_on_a_group_is_measured_at_its_answer_position():
    data = make_dataset(TaskConfig(name="group", group="S4", frac_train=0.5))
    model = build_model(ModelConfig(d_model=32, n_heads=2, d_head=16, d_mlp=64), 24, 0)
    c = analyze_group_model(model, data, {"kind": "test"}).cosets
    assert c["parts"] == 128 and c["fraction_concentrated"] == 0.0
    assert abs(c["median_min_c"] - c["null_min_c"]) < 0.3 and c["ablation"] is None
