"""Program synthesis from weights: the program types, their extraction, verification and source
emission. The stages over runs and files are the engine's (groklab.engine); `extract_run`,
`extract_file` and `extract_model` are re-exported here, loaded on first use, for code written
against earlier versions."""

from groklab.synth.program import Program
from groklab.synth.cyclic_program import ExtractResult

_ENGINE = ("extract_file", "extract_model", "extract_run")
__all__ = ["ExtractResult", "Program", *_ENGINE]


def __getattr__(name: str):
    if name in _ENGINE:
        from groklab.engine import stages

        return getattr(stages, name)
    raise AttributeError(f"module 'groklab.synth' has no attribute {name!r}")
