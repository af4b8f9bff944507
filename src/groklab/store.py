"""The run directory: the only module that knows paths and file formats.

    RUN/config.json                 RunConfig + versions (enough to rebuild model and data)
    RUN/metrics.jsonl               one row per evaluation: {"epoch", "loss/train", "acc/test", ...}
    RUN/checkpoints/epoch_NNNNNNN.safetensors   model weights, metadata {"epoch": "N"}
    RUN/state.safetensors           latest model + optimizer (+ Grokfast) state, for resuming
    RUN/summary.json                final metrics, memorization and grokking epochs
    RUN/analysis.json, program.py, program.json, report.html   written by later stages
    RUN/lock                        held with an OS lock (flock) by the process writing the run

Every name of a run directory is spelled here (ARTEFACTS) and nowhere else. Every write goes to a
temporary file in the same directory, is flushed to disk and renamed into place. Nothing is
unpickled: tensors are safetensors, everything else JSON. A writer holds an exclusive `flock` on
RUN/lock for as long as it writes; the OS releases it when the process ends, however it ends.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import warnings
import platform
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import torch
import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from groklab.config import RunConfig
from groklab.errors import GroklabError, GroklabWarning

CKPT_RE = re.compile(r"^epoch_(\d+)\.safetensors$")
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "summary.json"
STATE_FILE = "state.safetensors"
CHECKPOINT_DIR = "checkpoints"
LOCK_FILE = "lock"
ANALYSIS_FILE = "analysis.json"
PROGRAM_FILE = "program.py"
PROGRAM_JSON = "program.json"
REPORT_FILE = "report.html"
LLC_FILE = "llc.json"
# what a run produces; `clear` removes every one of them (the lock file stays: it is held)
ARTEFACTS = (METRICS_FILE, SUMMARY_FILE, STATE_FILE, ANALYSIS_FILE, PROGRAM_FILE, PROGRAM_JSON,
             REPORT_FILE, LLC_FILE)
RESUMABLE_FIELDS = {("train", "epochs"), ("train", "stop_patience")}
CONFIG_SCHEMA = 1  # config.json's layout; a newer one is refused, an older one (none) reads as 1
ANALYSIS_SCHEMA = 2  # analysis.json's layout (docs/schemas.md); another version is refused
# a stored config must carry these: a default would silently change the data
STORED_REQUIRED = (("task", "name"), ("task", "p"), ("task", "frac_train"), ("task", "data_seed"))


def versions() -> dict[str, str]:
    from groklab import __version__

    return {"groklab": __version__, "torch": torch.__version__, "python": platform.python_version()}


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it onto `path`, else delete it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise GroklabError(f"cannot write {path}: {e.strerror or e}") from None
    os.close(fd)
    try:
        try:
            yield Path(tmp)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        except OSError as e:  # a full disk, a vanished directory: one line, nothing half-written
            raise GroklabError(f"cannot write {path}: {e.strerror or e}") from None
        except SafetensorError as e:  # safetensors' own error for the same faults (not an OSError)
            raise GroklabError(f"cannot write {path}: {e} (is the disk full?)") from None
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; finished files get the usual mode
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path: Path, text: str) -> None:
    with atomic_path(Path(path)) as tmp:
        tmp.write_text(text)


def write_json(path: Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def ensure_dir(path: Path, what: str) -> None:
    """Create `path` (and its parents) as a writable directory, or one line saying why not."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise GroklabError(f"{what} {path} exists and is not a directory; pass another path")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GroklabError(f"cannot create {what} {path}: {e.strerror or e}") from None
    if not os.access(path, os.W_OK):
        raise GroklabError(f"{what} {path} is not writable")


def open_lock(path: Path) -> int:
    """The file descriptor of a lock file (created if missing), not inherited by child processes."""
    try:
        return os.open(path, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o644)
    except OSError as e:
        raise GroklabError(f"cannot open the lock file {path}: {e.strerror or e}") from None


def to_jsonable(obj: Any) -> Any:
    """A dataclasses.asdict tree made JSON-safe: numpy scalars to Python, non-finite floats to None,
    tuples to lists, keys to strings."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return None if not math.isfinite(float(obj)) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise GroklabError(f"cannot read {path}: {e}") from None


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, str]) -> None:
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    with atomic_path(Path(path)) as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    """All tensors of a safetensors file; a truncated or corrupt file is named in the error."""
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise GroklabError(f"cannot read checkpoint {path}: corrupt or truncated ({e})") from None


def _config_diff(old: RunConfig, new: RunConfig) -> list[str]:
    a, b = old.to_dict(), new.to_dict()
    diffs = []
    for section in ("task", "model", "train"):
        for key, value in b[section].items():
            if (section, key) not in RESUMABLE_FIELDS and a[section].get(key) != value:
                diffs.append(f"{section}.{key}: {a[section].get(key)!r} -> {value!r}")
    if a["seed"] != b["seed"]:
        diffs.append(f"seed: {a['seed']} -> {b['seed']}")
    return diffs


class RunStore:
    """A run directory, opened for reading, or locked for writing with `writer()`."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    # ---- layout -------------------------------------------------------------------------------
    config_path = property(lambda self: self.path / CONFIG_FILE)
    metrics_path = property(lambda self: self.path / METRICS_FILE)
    summary_path = property(lambda self: self.path / SUMMARY_FILE)
    state_path = property(lambda self: self.path / STATE_FILE)
    ckpt_dir = property(lambda self: self.path / CHECKPOINT_DIR)
    lock_path = property(lambda self: self.path / LOCK_FILE)

    def file(self, name: str) -> Path:
        return self.path / name

    def is_run(self) -> bool:
        return self.config_path.is_file()

    # ---- config -------------------------------------------------------------------------------
    def read_config(self) -> RunConfig:
        if not self.is_run():
            raise GroklabError(f"{self.path} is not a groklab run directory (no config.json)")
        data = read_json(self.config_path)
        if not isinstance(data, dict) or not all(isinstance(data.get(s), dict)
                                                 for s in ("task", "model", "train")):
            raise GroklabError(f"{self.config_path} is not a groklab config (an object with task, "
                               "model and train sections)")
        schema = data.get("schema_version", 1)
        if not isinstance(schema, int) or schema > CONFIG_SCHEMA:
            raise GroklabError(f"{self.config_path} has schema_version {schema!r}, written by a "
                               f"newer groklab; this one reads up to {CONFIG_SCHEMA}: upgrade")
        missing = [f"{s}.{k}" for s, k in STORED_REQUIRED if k not in data[s]]
        if missing:
            raise GroklabError(f"{self.config_path} lacks {', '.join(missing)}: without it groklab "
                               "would silently use a default (a different split); restore it")
        try:
            return RunConfig.from_dict(data)
        except GroklabError as e:
            raise GroklabError(f"{self.config_path}: {e}") from None

    def prepare(self, config: RunConfig, overwrite: bool = False) -> bool:
        """Make the directory hold `config`. Returns True when an earlier run can be resumed.

        A directory holding a different config is refused unless `overwrite`, which clears it."""
        if self.is_run():
            diffs = _config_diff(self.read_config(), config)
            if diffs and not overwrite:
                raise GroklabError(
                    f"{self.path} holds a run with a different config ({'; '.join(diffs)}); "
                    "pass --overwrite to replace it, or --out for a new directory")
            if diffs:
                self.clear()
        write_json(self.config_path, {**config.to_dict(), "schema_version": CONFIG_SCHEMA,
                                      "versions": versions()})
        return self.state_path.is_file()

    def clear(self) -> None:
        """Remove every artefact of the run (and temporary files left by a killed writer)."""
        for name in ARTEFACTS:
            self.file(name).unlink(missing_ok=True)
        for tmp in self.path.glob(".*.tmp"):
            tmp.unlink(missing_ok=True)
        shutil.rmtree(self.ckpt_dir, ignore_errors=True)

    def remove_temporaries(self) -> None:
        """Temporary files a killed writer left behind (only ever called under the lock)."""
        for folder in (self.path, self.ckpt_dir):
            if folder.is_dir():
                for tmp in folder.glob(".*.tmp"):
                    tmp.unlink(missing_ok=True)

    # ---- lock ---------------------------------------------------------------------------------
    @contextmanager
    def writer(self) -> Iterator["RunStore"]:
        """Hold the run's OS lock for the whole block; a second live writer is refused at once."""
        ensure_dir(self.path, "run directory")
        fd = open_lock(self.lock_path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _lock_pid(self.lock_path)
            os.close(fd)
            raise GroklabError(f"{self.path} is in use by another groklab process"
                               + (f" (pid {pid})" if pid else "") + "; wait for it to finish") \
                from None
        try:
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            self.remove_temporaries()
            yield self
        finally:
            os.close(fd)  # releases the lock

    def is_being_written(self) -> bool:
        """Whether a live process holds the run's lock (probed without waiting)."""
        if not self.lock_path.exists():
            return False
        fd = os.open(self.lock_path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)

    # ---- metrics ------------------------------------------------------------------------------
    def read_metrics(self) -> list[dict]:
        """Metric rows in order. A torn last line (a writer killed mid-row) is skipped with a
        warning; a torn line anywhere else is an error naming it."""
        if not self.metrics_path.is_file():
            return []
        lines = self.metrics_path.read_text().splitlines()
        rows = []
        for i, line in enumerate(lines):
            try:
                row = json.loads(line)
                if not isinstance(row, dict) or not isinstance(row.get("epoch"), int):
                    raise ValueError("not a metrics row")
            except ValueError:
                if i == len(lines) - 1:
                    warnings.warn(f"{self.metrics_path}: line {i + 1} is torn (a writer was "
                                  "killed mid-row); skipped", GroklabWarning, stacklevel=2)
                    break
                raise GroklabError(f"{self.metrics_path}: line {i + 1} is not a metrics row; "
                                   "the file is corrupt") from None
            rows.append(row)
        return rows

    def keep_metrics_before(self, epoch: int) -> list[dict]:
        rows = [r for r in self.read_metrics() if r["epoch"] < epoch]
        write_text(self.metrics_path, "".join(json.dumps(r) + "\n" for r in rows))
        return rows

    def append_metrics(self, row: dict) -> None:
        try:
            with open(self.metrics_path, "a") as f:
                f.write(json.dumps(row) + "\n")
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise GroklabError(f"cannot write {self.metrics_path}: {e.strerror or e}") from None

    # ---- checkpoints --------------------------------------------------------------------------
    def checkpoint_path(self, epoch: int) -> Path:
        return self.ckpt_dir / f"epoch_{epoch:07d}.safetensors"

    def save_checkpoint(self, epoch: int, weights: dict[str, torch.Tensor]) -> None:
        save_tensors(self.checkpoint_path(epoch), weights, {"epoch": str(epoch), "format": "groklab"})

    def checkpoint_epochs(self) -> list[int]:
        if not self.ckpt_dir.is_dir():
            return []
        return sorted(int(m.group(1)) for f in os.listdir(self.ckpt_dir) if (m := CKPT_RE.match(f)))

    def load_checkpoint(self, epoch: int) -> dict[str, torch.Tensor]:
        path = self.checkpoint_path(epoch)
        if not path.is_file():
            raise GroklabError(f"no checkpoint at epoch {epoch} in {self.path}; "
                               f"available: {_span(self.checkpoint_epochs())}")
        return load_tensors(path)

    def drop_checkpoints_after(self, epoch: int) -> None:
        for e in self.checkpoint_epochs():
            if e > epoch:
                self.checkpoint_path(e).unlink()

    # ---- resume state -------------------------------------------------------------------------
    def save_state(self, epoch: int, tensors: dict[str, torch.Tensor], wall_s: float = 0.0) -> None:
        """The resume state at `epoch`, with the training wall seconds spent to reach it."""
        save_tensors(self.state_path, tensors, {"epoch": str(epoch), "wall_s": f"{wall_s:.3f}"})

    def load_state(self) -> tuple[int, dict[str, torch.Tensor], float]:
        """(epoch, tensors, wall seconds of the segments before) of the resume state."""
        tensors = load_tensors(self.state_path)
        try:
            with safe_open(str(self.state_path), "pt") as f:
                meta = f.metadata() or {}
            epoch = int(meta["epoch"])
            wall = float(meta.get("wall_s", 0.0))
        except (KeyError, ValueError, TypeError):
            raise GroklabError(f"{self.state_path} has no epoch in its metadata: not a groklab "
                               "state file; delete it to restart the run") from None
        return epoch, tensors, wall

    # ---- summary and later artefacts ----------------------------------------------------------
    def write_summary(self, summary: dict) -> None:
        write_json(self.summary_path, summary)

    def read_summary(self) -> dict | None:
        return read_json(self.summary_path) if self.summary_path.is_file() else None


def _lock_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _span(epochs: list[int]) -> str:
    if not epochs:
        return "none"
    return f"{len(epochs)} checkpoints, epochs {epochs[0]}..{epochs[-1]}"


def find_runs(root: str | os.PathLike) -> list[RunStore]:
    """Run directories at or below `root` (a directory holding config.json), sorted by path."""
    root = Path(root)
    if not root.is_dir():
        raise GroklabError(f"{root} is not a directory")
    found = [RunStore(p.parent) for p in sorted(root.rglob("config.json"))]
    return [r for r in found if (r.path / "metrics.jsonl").exists() or r.state_path.exists()]


def read_analysis(path: str | os.PathLike) -> dict:
    """analysis.json of a run directory (or a JSON path) as a dict, of this groklab's schema."""
    path = Path(path)
    file = path / ANALYSIS_FILE if path.is_dir() else path
    if not file.is_file():
        raise GroklabError(f"{path} has no analysis yet; run: groklab analyze {path}")
    data = read_json(file)
    if not isinstance(data, dict) or data.get("schema_version") != ANALYSIS_SCHEMA:
        version = data.get("schema_version") if isinstance(data, dict) else None
        raise GroklabError(f"{file} has schema version {version}; "
                           f"this groklab reads {ANALYSIS_SCHEMA}: re-run groklab analyze")
    return data
