"""The analysis engine: the domain interface (engine.domain), one module per domain (cyclic, group)
and every stage written once against it (engine.stages)."""

from groklab.engine.stages import (analyze_and_extract, analyze_file, analyze_model, analyze_run,
                                   compare_run, extract_file, extract_model, extract_run)

__all__ = ["analyze_and_extract", "analyze_file", "analyze_model", "analyze_run", "compare_run",
           "extract_file", "extract_model", "extract_run"]
