"""A bounded, columnar record of a run's probes that readers can view while it grows.

Rows are appended by one writer thread. When the store is full, every other row is dropped and
from then on only every `stride`-th record is kept, so memory is bounded by `capacity` rows
whatever the run's length, and the kept rows stay evenly spaced in time. The latest record is
always kept too: one that falls between two strides waits in a one-row tail, replaced by the
next record, so a view always ends with the last record offered (a run's final probe included).

Readers call `view()`: it takes one reference (arrays, length, tail) published by the writer;
rows below that length are never written again in those arrays (decimation builds new arrays)
and a tail is never changed once published, so a view is consistent without a lock. A view
with a tail joins the two (a copy of the kept rows, well under a millisecond at capacity).
"""
from __future__ import annotations

import numpy as np

DEFAULT_CAPACITY = 1024


class HistoryView(dict):
    """Column name -> read-only array of the rows kept, with how they were thinned:
    `offered` records were appended, every `stride`-th is kept, and the latest."""

    offered: int = 0
    stride: int = 1


class History:
    """Append-only columns with decimation and a tail; `view()` is lock-free and consistent."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY):
        if capacity < 2:
            raise ValueError(f"capacity: got {capacity}; allowed: at least 2")
        self.capacity = capacity
        self.stride = 1
        self._offered = 0
        self._cols: dict[str, np.ndarray] | None = None
        # (columns, rows kept, tail row or None, records offered, stride): swapped whole
        self._published: tuple = ({}, 0, None, 0, 1)

    def append(self, step: int, **values) -> bool:
        """Offer one record; returns whether it was kept as a strided row (see class docstring).
        A record off the stride is still kept, as the tail, until the next record arrives."""
        offered, self._offered = self._offered, self._offered + 1
        cols, n = self._published[:2]
        if self._cols is None:
            self._cols = cols = self._allocate(values)
        if n == self.capacity:  # full: the record needs a row, kept or tail
            cols, n = self._decimate(cols, n)
        if offered % self.stride:
            self._published = (cols, n, self._row(cols, step, values), offered + 1, self.stride)
            return False
        cols["step"][n] = step
        for name, value in values.items():
            cols[name][n] = value
        self._published = (cols, n + 1, None, offered + 1, self.stride)
        return True

    def _allocate(self, values: dict) -> dict[str, np.ndarray]:
        cols = {"step": np.zeros(self.capacity, np.int64)}
        for name, value in values.items():
            arr = np.asarray(value)
            dtype = np.dtype(np.float32) if arr.dtype.kind == "f" else arr.dtype
            cols[name] = np.full((self.capacity,) + arr.shape, np.nan if dtype.kind == "f" else 0,
                                 dtype=dtype)
        return cols

    @staticmethod
    def _row(cols: dict[str, np.ndarray], step: int, values: dict) -> dict[str, np.ndarray]:
        """A fresh one-row copy of a record, in the columns' dtypes (published as the tail)."""
        row = {name: np.empty((1,) + col.shape[1:], col.dtype) for name, col in cols.items()}
        row["step"][0] = step
        for name, value in values.items():
            row[name][0] = value
        return row

    def _decimate(self, cols, n):
        fresh = {name: np.empty_like(col) for name, col in cols.items()}
        keep = (n + 1) // 2  # rows 0, 2, 4, ...: one more than n // 2 when n is odd
        for name, col in cols.items():
            fresh[name][:keep] = col[0:n:2]
        self.stride *= 2
        self._cols = fresh
        return fresh, keep

    def view(self) -> HistoryView:
        """Read-only arrays of the kept rows and the tail (column name -> array of length n)."""
        cols, n, tail, offered, stride = self._published
        out = HistoryView()
        out.offered, out.stride = offered, stride
        for name, col in cols.items():
            v = col[:n] if tail is None else np.concatenate([col[:n], tail[name]])
            v.flags.writeable = False
            out[name] = v
        return out

    def __len__(self) -> int:
        _, n, tail = self._published[:3]
        return n + (tail is not None)

    @property
    def nbytes(self) -> int:
        """Bytes held: the columns (capacity rows) and the tail row, if any."""
        cols, _, tail = self._published[:3]
        return sum(c.nbytes for c in cols.values()) + \
            sum(c.nbytes for c in (tail or {}).values())

    def state(self) -> dict:
        """The kept rows, the tail and the decimation state, to rebuild an equal History
        elsewhere (a server joining a run that a Ray actor records)."""
        cols, n, tail, offered, stride = self._published
        return {"capacity": self.capacity, "stride": self.stride, "offered": self._offered,
                "n": n, "cols": {name: col[:n].copy() for name, col in cols.items()},
                "tail": tail}

    @classmethod
    def from_state(cls, state: dict) -> "History":
        hist = cls(state["capacity"])
        hist.stride, hist._offered = state["stride"], state["offered"]
        n = state["n"]
        if state["cols"]:
            cols = {}
            for name, kept in state["cols"].items():
                col = np.zeros((hist.capacity,) + kept.shape[1:], kept.dtype)
                if col.dtype.kind == "f":
                    col[:] = np.nan
                col[:n] = kept
                cols[name] = col
            hist._cols = cols
            hist._published = (cols, n, state.get("tail"), hist._offered, hist.stride)
        return hist
