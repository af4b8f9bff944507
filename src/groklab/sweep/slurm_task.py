"""One sweep work item (a run, or runs that train together) as a SLURM task (imported only by the
SLURM executor: it needs submitit).

Checkpointable: when SLURM preempts the task or its time limit nears, submitit requeues it as it
was; `worker.work_batch` then resumes the runs from their own last checkpoints (training is
resumable, batched or not)."""

from __future__ import annotations

import submitit

from groklab.sweep.worker import work_batch


class RunTask(submitit.helpers.Checkpointable):
    def __call__(self, paths: list[str], config_dicts: list[dict], stages: tuple[str, ...]
                 ) -> list[str | None]:
        return work_batch(paths, config_dicts, stages)
