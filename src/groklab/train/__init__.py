"""Training: the loop, the optimizer stack, callbacks, and the `run` pipeline."""

from groklab.train.run import TrainResult, run

__all__ = ["TrainResult", "run"]
