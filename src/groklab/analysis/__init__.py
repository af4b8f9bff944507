"""Analyses: the Fourier algorithm in a trained model, verified by ablations, tracked over a run."""

from groklab.analysis.analyze import AnalysisResult, analyze_file, analyze_model, analyze_run

__all__ = ["AnalysisResult", "analyze_file", "analyze_model", "analyze_run"]
