"""A binary operation given as a table file: CSV (row a, column b, entry a∘b; integers, comma
separated, no header) or .npy (a square integer array). Checked entry by entry: one line naming the
first failing entry."""

from __future__ import annotations

import csv
import os
from functools import lru_cache

import numpy as np

from groklab.errors import GroklabError

MAX_ROWS = 720


def _fail(path: str, what: str) -> GroklabError:
    return GroklabError(f"table {path!r}: {what}")


def _read_csv(path: str) -> np.ndarray:
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for i, row in enumerate(csv.reader(f)):
            if not row or all(not x.strip() for x in row):
                continue
            if len(rows) >= MAX_ROWS:
                raise _fail(path, f"more than {MAX_ROWS} rows (at most {MAX_ROWS} are trained)")
            out = []
            for j, x in enumerate(row):
                x = x.strip()
                if not (x.isascii() and x.lstrip("-").isdigit()):
                    raise _fail(path, f"row {i}, column {j}: {x!r} is not an integer")
                out.append(int(x))
            rows.append(out)
    widths = {len(r) for r in rows}
    if not rows:
        raise _fail(path, "is empty: give a square table of integers")
    bad = next((i for i, r in enumerate(rows) if len(r) != len(rows)), None)
    if bad is not None:
        raise _fail(path, f"row {bad} has {len(rows[bad])} entries, but the table has {len(rows)} "
                          f"rows: it must be square (row widths {sorted(widths)})")
    return np.array(rows, dtype=np.int64)


def _read_npy(path: str) -> np.ndarray:
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise _fail(path, f"is not a readable .npy array ({str(e).splitlines()[0]})") from None
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise _fail(path, f"has shape {tuple(arr.shape)}: it must be square [n, n]")
    if arr.shape[0] > MAX_ROWS:
        raise _fail(path, f"has {arr.shape[0]} rows: at most {MAX_ROWS}")
    if not np.issubdtype(arr.dtype, np.integer):
        if not (np.issubdtype(arr.dtype, np.floating) and np.isfinite(arr).all()
                and (arr == np.round(arr)).all()):
            raise _fail(path, f"holds {arr.dtype} values: entries must be integers")
    return arr.astype(np.int64)


@lru_cache(maxsize=8)
def _load(path: str, stamp: tuple) -> np.ndarray:
    if not os.path.isfile(path):
        raise _fail(path, "does not exist or is not a file")
    try:
        table = _read_npy(path) if path.endswith(".npy") else _read_csv(path)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise _fail(path, f"cannot be read ({type(e).__name__})") from None
    n = table.shape[0]
    if n < 2:
        raise _fail(path, f"has {n} row: at least 2 are needed")
    if n > MAX_ROWS:
        raise _fail(path, f"has {n} rows: at most {MAX_ROWS}")
    out = np.argwhere((table < 0) | (table >= n))
    if len(out):
        i, j = out[0]
        raise _fail(path, f"row {i}, column {j}: entry {table[i, j]} is outside 0..{n - 1} (the "
                          f"answers of an {n}-row table are tokens 0..{n - 1})")
    table.setflags(write=False)
    return table


def read_table_file(path: str) -> np.ndarray:
    """The table [n, n] of int64, checked (cached by path, size and modification time)."""
    try:
        st = os.stat(path)
        stamp = (st.st_size, st.st_mtime_ns)
    except OSError:
        stamp = ()
    return _load(os.path.abspath(path), stamp)
