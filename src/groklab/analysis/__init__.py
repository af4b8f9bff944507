"""Analyses: the science of each domain (Fourier for Z_N tasks, irreps for groups), progress
measures, phases, the LLC. The stages over runs and files are the engine's (groklab.engine);
`analyze_run`, `analyze_file` and `analyze_model` are re-exported here, loaded on first use, for
code written against earlier versions."""

from groklab.analysis.cyclic.analyze import AnalysisResult

_ENGINE = ("analyze_file", "analyze_model", "analyze_run")
__all__ = ["AnalysisResult", *_ENGINE]


def __getattr__(name: str):
    if name in _ENGINE:
        from groklab.engine import stages

        return getattr(stages, name)
    raise AttributeError(f"module 'groklab.analysis' has no attribute {name!r}")
