"""Emit a Program as a standalone, human-readable Python file (numpy only, no groklab import).

`python program.py A B` prints the answer; `from program import answer, logits` for use in code.

Data-safe by construction: the only text spliced into the source is groklab's own, chosen from
closed sets (the algorithm, the map kinds, the profile, all checked by Program); every value
that comes from a run or a user (provenance, paths, presets, numbers) is written as a Python
literal with `repr`, never into a docstring or a comment.
"""

from __future__ import annotations

from groklab.synth.program import Program

_DOC = {
    "clock": ["The clock (Nanda et al. 2023): the inputs are angles on a circle of N points; the",
              "network adds them, x = f(a) + SIGN*f(b) mod N, and reads the answer out by",
              "interference: logit(c) = sum_k A_k cos(2 pi k (x - g(c)) / N + phi_k)."],
    "pizza": ["The pizza (Zhong et al. 2023): as the clock, logit(c) = sum_k M_k(delta) A_k",
              "cos(2 pi k (x - g(c)) / N + phi_k), but each wave's magnitude depends on",
              "delta = f(a) - SIGN*f(b): M_k(delta) = |cos(pi k delta / N)| or a fitted table."],
    "lookup": ["A lookup table: the network's answers on its training pairs, and nothing else.",
               "It has no answer for any other pair (the network memorized, it did not compute)."],
    "unknown": ["No program family explains this network: the program answers nothing, except",
                "pairs in the exception table."],
}

_MAP_CODE = {
    "identity": ["def {fn}(t):", "    return t"],
    "square": ["def {fn}(t):", "    return t * t % P"],
    "discrete_log": ["def {fn}(t):", "    return LOG.get(t, -1)  # 0 has no discrete log"],
    "table": ["def {fn}(t):", "    return {table}[t]"],
}


def _map_lines(kind: str, fn: str, table_name: str, coords: tuple[int, ...]) -> list[str]:
    lines = []
    if kind == "table":
        lines.append(f"{table_name} = {list(coords)!r}")
    lines += [line.format(fn=fn, table=table_name) for line in _MAP_CODE[kind]]
    return lines


def _constants(program: Program) -> list[str]:
    pr = program
    lines = [f"ALGORITHM = {pr.algorithm!r}", f"P = {pr.p!r}", f"N = {pr.n!r}  # circle size",
             f"SIGN = {pr.sign!r}", f"FREQUENCIES = {tuple(pr.freqs)!r}",
             f"AMPLITUDES = {tuple(pr.alpha)!r}", f"PHASES = {tuple(pr.phase)!r}",
             f"PROFILE = {pr.profile!r}", f"SCALE = {pr.scale!r}  # temperature (training pairs)"]
    if pr.profile == "free":
        lines += [f"FREE_COS = {[list(r) for r in pr.free_cos]!r}",
                  f"FREE_SIN = {[list(r) for r in pr.free_sin]!r}"]
    lines.append(f"TABLE = {{{', '.join(f'({a!r}, {b!r}): {c!r}' for a, b, c in pr.table)}}}")
    if "discrete_log" in (pr.input_kind, pr.output_kind):
        lines += [f"G = {pr.generator!r}  # a generator of the nonzero residues mod P",
                  "LOG = {pow(G, i, P): i for i in range(N)}"]
    return lines


_EVAL = '''

def magnitude(i, delta):
    """M_k(delta) of the i-th frequency (1 for the clock)."""
    if PROFILE == "abs_cos":
        return abs(np.cos(np.pi * FREQUENCIES[i] * delta / N))
    return 1.0


def waves(x, delta):
    """The summed waves over every class c, as a function of d = x - g(c)."""
    d = (x - np.array([g(c) for c in range(P)])) % N
    out = np.zeros(P)
    for i, k in enumerate(FREQUENCIES):
        w = 2 * np.pi * k / N
        if PROFILE == "free":
            out += FREE_COS[i][delta] * np.cos(w * d) + FREE_SIN[i][delta] * np.sin(w * d)
        else:
            out += magnitude(i, delta) * AMPLITUDES[i] * np.cos(w * d + PHASES[i])
    out[[c for c in range(P) if g(c) < 0]] = -1e9  # classes without a coordinate
    return SCALE * out


def logits(a, b):
    """Logits over the answers 0..P-1 for the pair (a, b); None when the program has no answer."""
    a, b = int(a), int(b)
    if (a, b) in TABLE:
        out = np.full(P, -1e9)
        out[TABLE[(a, b)]] = SCALE
        return out
    if ALGORITHM not in ("clock", "pizza") or f(a) < 0 or f(b) < 0:
        return None
    x = (f(a) + SIGN * f(b)) % N
    delta = (f(a) - SIGN * f(b)) % N
    return waves(x, delta)


def answer(a, b):
    """The program's answer for (a, b), or None when it has none."""
    out = logits(a, b)
    return None if out is None else int(np.argmax(out))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python program.py A B")
    result = answer(int(sys.argv[1]), int(sys.argv[2]))
    if result is None:
        sys.exit("no answer: the program does not cover this pair")
    print(result)
'''


def emit(program: Program, source: dict) -> str:
    """The source text of `program`; `source` (provenance, fit quality) becomes the SOURCE dict."""
    safe = {str(k): v if isinstance(v, (int, float, bool)) or v is None else str(v)
            for k, v in source.items()}
    lines = ['"""A program extracted by groklab from the weights of a trained network.', ""]
    lines += _DOC[program.algorithm]
    lines += ["", "Inputs a, b and answers c are tokens 0..P-1; f and g map them to the circle.",
              "Provenance and verification: the SOURCE dict below.",
              "Usage: python program.py A B   or   from program import answer, logits", '"""',
              "import sys", "", "import numpy as np", "", f"SOURCE = {safe!r}"]
    lines += _constants(program) + [""]
    lines += _map_lines(program.input_kind, "f", "F_TABLE", program.in_coord) + ["", ""]
    lines += _map_lines(program.output_kind, "g", "G_TABLE", program.out_coord)
    return "\n".join(lines) + _EVAL
