"""Emit a Program as a standalone, human-readable Python file (numpy only, no groklab import).

`python program.py A B` prints the answer; `from program import answer, logits` for use in code.
"""

from __future__ import annotations

from groklab.synth.program import Program

_OPS = {"add": "a + b", "sub": "a - b", "mul": "a * b", "div": "a / b"}


def _wave_lines(program: Program) -> list[str]:
    lines = []
    for k, alpha, phi in zip(program.freqs, program.alpha, program.phase):
        phase = f" {'+' if phi >= 0 else '-'} {abs(phi):.4f}" if abs(phi) >= 5e-5 else ""
        lines.append(f"    out += {alpha:.6g} * np.cos(2 * np.pi * {k} * (x - c) / N{phase})"
                     f"  # frequency {k}")
    return lines or ["    pass  # no key frequency: the network runs no Fourier algorithm"]


def _coordinate_lines(program: Program) -> list[str]:
    if program.generator is None:
        sign = "+" if program.sign > 0 else "-"
        return [f"    x = (a {sign} b) % N  # the network {'adds' if sign == '+' else 'subtracts'}"
                " on the circle"]
    sign = "+" if program.sign > 0 else "-"
    return [f"    x = (LOG[a] {sign} LOG[b]) % N  # multiplication is addition of discrete logs"]


def emit(program: Program, header: dict) -> str:
    """The source text of `program`; `header` (source, checkpoint, fit quality) goes in its docstring."""
    head = "\n".join(f"{k}: {v}" for k, v in header.items())
    mul = program.generator is not None
    lines = [
        f'"""{program.task}: c = {_OPS[program.task]} mod {program.p}, as the network computes it.',
        "",
        "Extracted by groklab from the weights of a trained network.",
        head,
        "",
        "Readout: logit(c) = sum_k alpha_k cos(w_k (x - c) + phi_k), w_k = 2 pi k / N; answer = argmax.",
        'Usage: python program.py A B   or   from program import answer, logits',
        '"""',
        "import sys",
        "",
        "import numpy as np",
        "",
        f"P = {program.p}",
        f"N = {program.n}  # size of the circle the algorithm runs on",
        f"FREQUENCIES = {tuple(program.freqs)}",
        f"SCALE = {program.scale:.6g}  # temperature fitted on the training pairs",
    ]
    if mul:
        lines += [f"G = {program.generator}  # a generator of the nonzero residues mod P",
                  "LOG = {pow(G, i, P): i for i in range(N)}", "EXP = [pow(G, i, P) for i in range(N)]"]
    lines += ["", "", "def waves(x):", '    """Sum of the key frequencies\' waves over every class c."""',
              "    c = np.arange(N)", "    out = np.zeros(N)"]
    lines += _wave_lines(program)
    lines += ["    return SCALE * out", "", "", "def logits(a, b):",
              '    """Logits over the answers 0..P-1 for the pair (a, b)."""', "    a, b = int(a), int(b)"]
    if mul:
        zero = "a == 0 or b == 0" if program.task == "mul" else "a == 0"
        lines += [f"    if {zero}:  # 0 has no discrete log: the one special case",
                  "        out = np.full(P, -1e9)", "        out[0] = 1e9", "        return out"]
    lines += _coordinate_lines(program)
    if mul:
        lines += ["    out = np.full(P, -1e9)", "    out[EXP] = waves(x)", "    return out"]
    else:
        lines += ["    return waves(x)"]
    lines += ["", "", "def answer(a, b):", '    """(a op b) mod P, by the extracted algorithm."""',
              "    return int(np.argmax(logits(a, b)))", "", "",
              'if __name__ == "__main__":',
              "    if len(sys.argv) != 3:",
              '        sys.exit("usage: python program.py A B")',
              "    print(answer(int(sys.argv[1]), int(sys.argv[2])))", ""]
    return "\n".join(lines)
