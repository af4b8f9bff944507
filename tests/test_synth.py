"""Extraction: which program a network runs, read from its weights, on known answers and controls."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import groklab_cli
from handbuilt import fourier_transformer
from groklab.config import ModelConfig, RunConfig, TaskConfig
from groklab.models import build_model
from groklab.engine import extract_model, extract_run
from groklab.synth import Program
from groklab.synth.emit import emit
from groklab.tasks import make_dataset
from groklab.train import run


def _data(task="add", p=31, frac=0.3, **kw):
    return make_dataset(TaskConfig(name=task, p=p, frac_train=frac, **kw))


@pytest.fixture(scope="module")
def handbuilt_extract():
    return extract_model(fourier_transformer(31, (3, 7, 11)), _data(), {"source": "hand-built"})


def test_handbuilt_network_gives_back_its_program(handbuilt_extract):
    r = handbuilt_extract
    assert r.algorithm == "clock"
    assert r.program.freqs == (3, 7, 11)
    assert r.program.input_kind == "identity" and r.program.output_kind == "identity"
    assert np.allclose(r.program.alpha, r.program.alpha[0], rtol=1e-3)  # built with equal weights
    assert all(abs(phi) < 1e-3 for phi in r.program.phase)
    v = r.verification
    assert v.agreement == 1.0 and v.program_accuracy == 1.0 and v.verdict == "algorithmic"
    assert v.ablated_accuracy <= 0.1
    # two maps (1 each), the sign, (k, A, φ) x 3; a table of every pair would need 961
    assert v.n_constants == 12 and v.lookup_entries == 31 * 31
    fam = r.to_dict()["families"]
    assert fam["clock"]["logit_fve"] > 0.99 and fam["lookup"]["agreement"] == 0.0


def _run_emitted(tmp_path, program: Program, pairs) -> list[int | None]:
    path = tmp_path / "program.py"
    path.write_text(emit(program, {"source": "test"}))
    script = ("import sys; sys.path.insert(0, sys.argv[1]); import program\n"
              f"print(' '.join(str(program.answer(a, b)) for a, b in {pairs!r}))")
    out = subprocess.run([sys.executable, "-I", "-c", script, str(tmp_path)], capture_output=True,
                         text=True, check=True)
    return [None if x == "None" else int(x) for x in out.stdout.split()]


def test_emitted_source_runs_standalone_and_agrees(tmp_path, handbuilt_extract):
    program = handbuilt_extract.program
    assert "groklab" not in handbuilt_extract.source_code.split('"""')[2].split("SOURCE")[0]
    pairs = [(a, b) for a in range(31) for b in range(31)]
    answers = _run_emitted(tmp_path, program, pairs)
    assert answers == [(a + b) % 31 for a, b in pairs]
    assert answers == program.answer(*np.array(pairs).T).tolist()
    cli = subprocess.run([sys.executable, "-I", str(tmp_path / "program.py"), "5", "9"],
                         capture_output=True, text=True)
    assert cli.returncode == 0 and int(cli.stdout) == 14


@pytest.mark.parametrize("task,kind,sign", [("sub", "identity", -1), ("mul", "discrete_log", 1),
                                            ("div", "discrete_log", -1)])
def test_coordinates_and_sign_are_discovered(tmp_path, task, kind, sign):
    data = _data(task, 13, 0.5)
    r = extract_model(fourier_transformer(13, (1, 3), task=task), data, {})
    assert (r.algorithm, r.program.input_kind, r.program.sign) == ("clock", kind, sign)
    assert r.verification.agreement == 1.0
    if kind == "discrete_log":
        assert r.program.generator == 2 and r.program.output_kind == "discrete_log"
        # pairs with a 0 have no discrete log: the program answers them from its exception table,
        # as the network does (this hand-built one embeds 0 as nothing, so it is wrong there)
        assert r.comparison.exceptions == (25 if task == "mul" else 12)
    nonzero = (data.pairs != 0).all(1)
    pairs = [tuple(x) for x in data.pairs[nonzero].tolist()]
    answers = _run_emitted(tmp_path, r.program, pairs)
    assert answers == data.labels[nonzero].tolist()


def test_relabeled_tokens_give_a_table_map():
    """Control that a name-keyed template cannot pass: number a is shown as token perm[a]."""
    task = TaskConfig(name="add", p=31, frac_train=0.3, relabel_seed=5)
    data = make_dataset(task)
    assert not np.array_equal(data.token_of, np.arange(31))
    model = fourier_transformer(31, (3, 7, 11), amplitudes=(1.3, 1.0, 0.7))
    with torch.no_grad():  # token perm[a] gets the embedding of number a
        w_e = model.embed.W_E
        w_e[torch.as_tensor(data.token_of)] = w_e[:31].clone()
    r = extract_model(model, data, {})
    assert r.algorithm == "clock" and r.program.input_kind == "table"
    assert r.program.output_kind == "identity"
    assert r.verification.program_accuracy == 1.0 and r.verdict == "algorithmic"
    # the table is the permutation up to the circle's symmetries: coord(perm[a]) = u·a + s
    coord = np.asarray(r.program.in_coord)[data.token_of]
    units = [u for u in range(1, 31)
             if len({(int(c) - u * a) % 31 for a, c in enumerate(coord)}) == 1]
    assert len(units) == 1


def test_squares_give_a_clock_on_the_square_map():
    p = 31
    data = _data("x2y2", p, 0.5)
    model = fourier_transformer(p, (2, 5), embed_coord=(np.arange(p) ** 2) % p)
    r = extract_model(model, data, {})
    assert (r.algorithm, r.program.input_kind, r.program.output_kind) == ("clock", "square",
                                                                          "identity")
    assert r.verification.program_accuracy == 1.0


def test_random_network_is_not_called_a_program():
    model = build_model(ModelConfig(d_model=32, n_heads=2, d_head=16, d_mlp=64), 31, 0)
    r = extract_model(model, _data(), {})
    assert r.algorithm == "unknown" and r.verdict != "algorithmic"


def test_emitted_code_is_data_safe(tmp_path, handbuilt_extract):
    hostile = ['"""\nimport os; open("PWNED", "w")\n"""', "'''\nraise SystemExit(7)\n'''",
               "back\\slash\\", "new\nline", "</script><script>alert(1)</script>", "x\"\"\"y"]
    source = {f"field{i}": h for i, h in enumerate(hostile)}
    source.update({h: "key" for h in hostile[:2]})
    path = tmp_path / "program.py"
    path.write_text(emit(handbuilt_extract.program, source))
    out = subprocess.run([sys.executable, "-I", str(path), "1", "2"], capture_output=True,
                         text=True, cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == "3"
    assert not (tmp_path / "PWNED").exists()
    script = ("import sys; sys.path.insert(0, sys.argv[1]); import program\n"
              "print(repr(program.SOURCE))")
    read = subprocess.run([sys.executable, "-I", "-c", script, str(tmp_path)], capture_output=True,
                          text=True, check=True, cwd=tmp_path)
    assert eval(read.stdout) == {str(k): str(v) for k, v in source.items()}  # noqa: S307


def test_program_round_trips_through_json(handbuilt_extract):
    import json

    program = handbuilt_extract.program
    again = Program.from_dict(json.loads(json.dumps(program.to_dict())))
    assert again == program


def test_memorizing_model_is_a_lookup_table(tmp_path):
    cfg = RunConfig.from_dict({
        "task": {"name": "add", "p": 31, "frac_train": 0.3},
        "model": {"d_model": 64, "n_heads": 4, "d_head": 16, "d_mlp": 128},
        "train": {"epochs": 300, "lr": 3e-3, "weight_decay": 0.0, "eval_every": 10,
                  "ckpt_every": 100}})
    result = run(cfg, tmp_path / "mem", quiet=True)
    assert result.summary["final"]["acc/train"] == 1.0
    r = extract_run(result.path, with_curve=False)
    assert r.algorithm == "lookup" and r.verdict == "memorizing"
    assert r.verification.program_test_accuracy == 0.0  # it answers no held-out pair
    data = make_dataset(cfg.task)
    held, seen = data.pairs[data.test_idx[0]], data.pairs[data.train_idx[0]]
    prog = result.path / "program.py"
    out = subprocess.run([sys.executable, "-I", str(prog), *map(str, held)], capture_output=True,
                         text=True)
    assert out.returncode == 1 and "no answer" in out.stderr  # it must not compute a + b
    out = subprocess.run([sys.executable, "-I", str(prog), *map(str, seen)], capture_output=True,
                         text=True)
    net = r.program.answer(*seen)[0]
    assert out.returncode == 0 and int(out.stdout) == net
    bad = groklab_cli("extract", str(tmp_path / "nothing"))
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_real_run_program_is_verified(grokked_run):
    r = extract_run(grokked_run.path)
    v = r.verification
    assert r.algorithm == "clock" and v.verdict == "algorithmic"
    assert v.program_accuracy == 1.0 and v.agreement >= 0.999
    assert v.ablated_accuracy <= 0.1
    assert r.first_correct_epoch in [p.epoch for p in r.curve]
    assert r.first_correct_epoch >= r.curve[0].epoch
    # the untrained network fits nothing; it memorizes before the program explains it
    verdicts = [pt.verdict for pt in r.curve]
    assert verdicts[0] == "unfitted" and verdicts[-1] == "algorithmic"
    first = {v: verdicts.index(v) for v in ("unfitted", "memorizing", "algorithmic")}
    assert first["unfitted"] < first["memorizing"] < first["algorithmic"]
