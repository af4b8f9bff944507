"""groklab: train small networks on algorithmic tasks, catch grokking, reverse-engineer and extract
the algorithm they learn, and show it in a report."""

__version__ = "0.1.0"
