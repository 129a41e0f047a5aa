"""A bounded, columnar record of a run's probes that readers can view while it grows.

Rows are appended by one writer thread. When the store is full, every other row is dropped and
from then on only every `stride`-th record is kept, so memory is bounded by `capacity` rows
whatever the run's length, and the kept rows stay evenly spaced in time.

Readers call `view()`: it takes one reference (arrays, length) published by the writer; rows
below that length are never written again in those arrays (decimation builds new arrays), so a
view is consistent without a lock.
"""
from __future__ import annotations

import numpy as np

DEFAULT_CAPACITY = 1024


class History:
    """Append-only columns with decimation; `view()` is lock-free and consistent."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY):
        if capacity < 2:
            raise ValueError(f"capacity: got {capacity}; allowed: at least 2")
        self.capacity = capacity
        self.stride = 1
        self._offered = 0
        self._cols: dict[str, np.ndarray] | None = None
        self._published: tuple[dict[str, np.ndarray], int] = ({}, 0)

    def append(self, step: int, **values) -> bool:
        """Offer one record; returns whether it was kept (see class docstring)."""
        offered, self._offered = self._offered, self._offered + 1
        if offered % self.stride:
            return False
        cols, n = self._published
        if self._cols is None:
            self._cols = cols = self._allocate(values)
        if n == self.capacity:
            cols, n = self._decimate(cols, n)
            if offered % self.stride:
                return False
        cols["step"][n] = step
        for name, value in values.items():
            cols[name][n] = value
        self._published = (cols, n + 1)
        return True

    def _allocate(self, values: dict) -> dict[str, np.ndarray]:
        cols = {"step": np.zeros(self.capacity, np.int64)}
        for name, value in values.items():
            arr = np.asarray(value)
            dtype = np.dtype(np.float32) if arr.dtype.kind == "f" else arr.dtype
            cols[name] = np.full((self.capacity,) + arr.shape, np.nan if dtype.kind == "f" else 0,
                                 dtype=dtype)
        return cols

    def _decimate(self, cols, n):
        fresh = {name: np.empty_like(col) for name, col in cols.items()}
        keep = (n + 1) // 2  # rows 0, 2, 4, ...: one more than n // 2 when n is odd
        for name, col in cols.items():
            fresh[name][:keep] = col[0:n:2]
        self.stride *= 2
        self._cols = fresh
        self._published = (fresh, keep)
        return fresh, keep

    def view(self) -> dict[str, np.ndarray]:
        """Read-only views of the kept rows (column name -> array of length n)."""
        cols, n = self._published
        out = {}
        for name, col in cols.items():
            v = col[:n]
            v.flags.writeable = False
            out[name] = v
        return out

    def __len__(self) -> int:
        return self._published[1]

    @property
    def nbytes(self) -> int:
        cols, _ = self._published
        return sum(c.nbytes for c in cols.values())

    def state(self) -> dict:
        """The kept rows and the decimation state, to rebuild an equal History elsewhere."""
        cols, n = self._published
        return {"capacity": self.capacity, "stride": self.stride, "offered": self._offered,
                "n": n, "cols": {name: col[:n].copy() for name, col in cols.items()}}

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
            hist._published = (cols, n)
        return hist
