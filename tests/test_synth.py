import subprocess
import sys

import numpy as np
import pytest

from conftest import groklab_cli
from handbuilt import fourier_transformer
from groklab.config import RunConfig, TaskConfig
from groklab.errors import GroklabError
from groklab.synth import Program, extract_model, extract_run
from groklab.synth.emit import emit
from groklab.synth.extract import require_template
from groklab.tasks import make_dataset
from groklab.train import run


@pytest.fixture(scope="module")
def handbuilt_extract():
    model = fourier_transformer(31, (3, 7, 11))
    return extract_model(model, make_dataset(TaskConfig(name="add", p=31, frac_train=0.3)),
                         {"source": "hand-built"})


def test_handbuilt_network_gives_back_its_program(handbuilt_extract):
    r = handbuilt_extract
    assert r.program.freqs == (3, 7, 11)
    assert np.allclose(r.program.alpha, r.program.alpha[0], rtol=1e-3)  # built with equal weights
    assert all(abs(phi) < 1e-3 for phi in r.program.phase)
    v = r.verification
    assert v.agreement == 1.0 and v.program_accuracy == 1.0 and v.verdict == "algorithmic"
    assert v.ablated_accuracy <= 0.1
    assert v.n_constants == 10 and v.lookup_entries == 31 * 31


def _run_emitted(tmp_path, program: Program) -> list[int]:
    path = tmp_path / "program.py"
    path.write_text(emit(program, {"source": "test"}))
    pairs = [(a, b) for a in range(program.p) for b in range(program.p)
             if program.task != "div" or b]
    script = ("import sys; sys.path.insert(0, sys.argv[1]); import program\n"
              f"print(' '.join(str(program.answer(a, b)) for a, b in {pairs!r}))")
    out = subprocess.run([sys.executable, "-I", "-c", script, str(tmp_path)], capture_output=True,
                         text=True, check=True)
    cli = subprocess.run([sys.executable, "-I", str(path), "5", "9"], capture_output=True, text=True)
    assert cli.returncode == 0 and int(cli.stdout) == int(program.answer(5, 9)[0])
    return [int(x) for x in out.stdout.split()]


def test_emitted_source_runs_standalone_and_agrees(tmp_path, handbuilt_extract):
    program = handbuilt_extract.program
    source = handbuilt_extract.source_code
    assert "groklab" not in source.split('"""')[2]  # no groklab import in the code
    answers = _run_emitted(tmp_path, program)
    a, b = np.divmod(np.arange(31 * 31), 31)
    assert answers == program.answer(a, b).tolist()
    assert answers == ((a + b) % 31).tolist()


@pytest.mark.parametrize("task", ["sub", "mul", "div"])
def test_templates_compute_their_task(tmp_path, task):
    from groklab.analysis.fourier import coords
    c = coords(task, 13)
    program = Program(task, 13, c.n, c.sign, c.generator, (1, 5), (1.0, 0.5), (0.0, 0.0))
    data = make_dataset(TaskConfig(name=task, p=13, frac_train=0.5))
    assert program.answer(data.pairs[:, 0], data.pairs[:, 1]).tolist() == data.labels.tolist()
    assert _run_emitted(tmp_path, program) == data.labels.tolist()


def test_task_without_template_is_refused():
    with pytest.raises(GroklabError, match="no program template"):
        require_template("x2y2")


def test_memorizing_model_gets_the_memorizing_verdict(tmp_path):
    cfg = RunConfig.from_dict({
        "task": {"name": "add", "p": 31, "frac_train": 0.3},
        "model": {"d_model": 64, "n_heads": 4, "d_head": 16, "d_mlp": 128},
        "train": {"epochs": 300, "lr": 3e-3, "weight_decay": 0.0, "eval_every": 10,
                  "ckpt_every": 100}})
    result = run(cfg, tmp_path / "mem", quiet=True)
    assert result.summary["final"]["acc/train"] == 1.0
    r = extract_run(result.path, with_curve=False)
    assert r.verdict == "memorizing"
    assert r.verification.program_test_accuracy <= 0.10
    assert (result.path / "program.py").is_file() and (result.path / "program.json").is_file()
    bad = groklab_cli("extract", str(tmp_path / "nothing"))
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_real_run_program_is_verified(grokked_run):
    r = extract_run(grokked_run.path)
    v = r.verification
    assert v.verdict == "algorithmic"
    assert v.program_accuracy == 1.0 and v.agreement >= 0.999
    assert v.ablated_accuracy <= 0.1
    assert r.first_correct_epoch is not None
    assert r.curve[0].verdict == "memorizing" and r.curve[-1].verdict == "algorithmic"
