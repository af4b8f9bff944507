"""Program synthesis from weights: the Program, its extraction, verification and source emission."""

from groklab.synth.program import Program
from groklab.synth.run import ExtractResult, extract_file, extract_model, extract_run

__all__ = ["ExtractResult", "Program", "extract_file", "extract_model", "extract_run"]
