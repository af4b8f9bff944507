"""groklab: train small networks on algorithmic tasks, catch grokking, reverse-engineer and extract
the algorithm they learn, and show it in a report.

`import groklab` is light (no torch, no plotly); each API function imports what it needs.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"
__all__ = ["GroklabError", "RunConfig", "analyze", "demo", "extract", "figures", "preset", "report",
           "train"]

_LAZY = {"train": "groklab.api", "analyze": "groklab.api", "extract": "groklab.api",
         "report": "groklab.api", "demo": "groklab.api", "RunConfig": "groklab.config",
         "preset": "groklab.config", "GroklabError": "groklab.errors"}


def __getattr__(name: str):
    if name == "figures":
        return importlib.import_module("groklab.report.figures")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'groklab' has no attribute {name!r}")
