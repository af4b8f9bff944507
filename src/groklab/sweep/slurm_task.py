"""One sweep run as a SLURM task (imported only by the SLURM executor: it needs submitit).

Checkpointable: when SLURM preempts the task or its time limit nears, submitit requeues it as it
was; `worker.work` then resumes the run from its own last checkpoint (training is resumable)."""

from __future__ import annotations

import submitit

from groklab.sweep.worker import work


class RunTask(submitit.helpers.Checkpointable):
    def __call__(self, path: str, config_dict: dict, stages: tuple[str, ...]) -> str | None:
        return work(path, config_dict, stages)
