"""A student's own 2-D data: points uploaded as a CSV (x1, x2, label) or clicked onto a plot.

Points are checked (size, rows, columns, numbers, finite values, 2-10 classes) and every
failure is an `UploadError` whose message says what is wrong in the student's words. A checked
data set is named by a hash of its content, "custom:<16 hex digits>", which is the `dataset`
of its runs: two viewers who upload the same points get the same name, so they share its
runs, and a link with the name works for every viewer of the server that holds it.

The server keeps data sets in a process-wide store, bounded in count and bytes (the least
recently used go first). Training happens elsewhere (a worker process, a Ray actor), so a run's
start command carries its points (`attachment`) and the host that trains it files them in its
own store (`receive`) before it loads the data: nothing has to be shared between processes.
"""
from __future__ import annotations

import csv
import hashlib
import io
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from bn_core.config import is_custom_dataset
from bn_core.i18n import _, ngettext
from bn_core.markdown import literal

PREFIX = "custom:"
HASH_CHARS = 16
COLUMNS = ("x1", "x2", "label")
MAX_FILE_BYTES = 200_000        # about 2,000 rows of generous text
MIN_POINTS = 20                 # a fifth is held out: at least 4 points to score
MAX_POINTS = 2000
MIN_CLASSES, MAX_CLASSES = 2, 10
MIN_PER_CLASS = 2               # one to train on and one to hold out
MAX_LABEL_CHARS = 30
MAX_COORDINATE = 1e6            # |x1|, |x2|: beyond this float32 training loses its digits
HELDOUT_FRACTION = 0.2
MAX_SETS = 64                   # data sets a server keeps
MAX_STORE_BYTES = 8 * 2**20


class UploadError(ValueError):
    """Why a file or a set of points cannot be used, in words a student can act on."""


@dataclass(frozen=True, eq=False)
class CustomPoints:
    """A checked data set: points (n, 2), class indices (n,) and the class names (the labels
    as written, sorted: numbers by value, then text)."""

    x: np.ndarray
    y: np.ndarray
    classes: tuple
    name: str

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def nbytes(self) -> int:
        return int(self.x.nbytes + self.y.nbytes + sum(len(c) for c in self.classes))

    def counts(self) -> list[int]:
        return np.bincount(self.y, minlength=self.n_classes).tolist()

    def to_csv(self) -> str:
        """The points as a CSV this module reads back to the same data set."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for (a, b), k in zip(self.x, self.y.tolist()):
            writer.writerow([_short(a), _short(b), self.classes[k]])
        return out.getvalue()


def _short(value: np.float32) -> str:
    """The shortest decimal text that reads back to this float32."""
    return np.format_float_positional(np.float32(value), unique=True, trim="-")


def is_custom(name) -> bool:
    """Whether `name` is the name of an uploaded data set ("custom:" and 16 hex digits)."""
    return is_custom_dataset(name)


def _label_key(label: str):
    """Numbers sort by value ("2" before "10"), then text labels alphabetically."""
    try:
        value = float(label)
        if math.isfinite(value):
            return (0, value, label)
    except ValueError:
        pass
    return (1, 0.0, label)


def content_hash(x: np.ndarray, y: np.ndarray, classes: tuple) -> str:
    """16 hex digits of SHA-256 over the float32 points, the class indices and the names."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(x, np.float32).tobytes())
    h.update(np.ascontiguousarray(y, np.int64).tobytes())
    h.update("\x1f".join(classes).encode())
    return h.hexdigest()[:HASH_CHARS]


def from_points(x, labels) -> CustomPoints:
    """Check points (n, 2) and their labels (n,: numbers or short text) and name them."""
    x = np.asarray(x, dtype=np.float64)
    labels = [str(v).strip() for v in labels]
    if x.ndim != 2 or x.shape[1] != 2 or len(x) != len(labels):
        raise UploadError(_("Each point needs two coordinates (x1, x2) and a label."))
    n = len(x)
    if n < MIN_POINTS:
        raise UploadError(ngettext(
            "Only {n} point: at least {least} are needed (a fifth of them is held out to "
            "measure accuracy).",
            "Only {n} points: at least {least} are needed (a fifth of them is held out to "
            "measure accuracy).", n).format(n=n, least=MIN_POINTS))
    if n > MAX_POINTS:
        raise UploadError(_("{n:,} points: at most {most:,} (more would train too slowly for "
                            "a class of thirty on one server).").format(n=n, most=MAX_POINTS))
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if len(bad):
        raise UploadError(_("Point {point} has a coordinate that is not a finite number (NaN "
                            "or infinity): every x1 and x2 must be an ordinary number.").format(
                                point=bad[0] + 1))
    far = np.flatnonzero((np.abs(x) > MAX_COORDINATE).any(axis=1))
    if len(far):
        raise UploadError(_("Point {point} lies at {where}: coordinates must stay between "
                            "-{most:,.0f} and {most:,.0f}.").format(
                                point=far[0] + 1, where=x[far[0]].tolist(), most=MAX_COORDINATE))
    if any(not v for v in labels):
        raise UploadError(_("Point {point} has no label.").format(point=labels.index('') + 1))
    long = next((v for v in labels if len(v) > MAX_LABEL_CHARS), None)
    if long is not None:
        raise UploadError(_("A label is {length} characters long; at most {most}.").format(
            length=len(long), most=MAX_LABEL_CHARS))
    classes = tuple(sorted(set(labels), key=_label_key))
    if len(classes) < MIN_CLASSES:
        raise UploadError(_("Every point has the label {label}: a classifier needs at least "
                            "{least} classes.").format(label=literal(classes[0]),
                                                       least=MIN_CLASSES))
    if len(classes) > MAX_CLASSES:
        raise UploadError(_("{n} different labels: at most {most} classes (the label column "
                            "names each point's class).").format(n=len(classes),
                                                                 most=MAX_CLASSES))
    index = {c: k for k, c in enumerate(classes)}
    y = np.array([index[v] for v in labels], np.int64)
    counts = np.bincount(y, minlength=len(classes))
    few = [classes[k] for k in range(len(classes)) if counts[k] < MIN_PER_CLASS]
    if few:
        raise UploadError(_("Class {label} has only {n} point: each class needs at least "
                            "{least} (one is held out).").format(
                                label=literal(few[0]), n=counts[index[few[0]]],
                                least=MIN_PER_CLASS))
    x32 = np.ascontiguousarray(x, np.float32)
    x32.setflags(write=False)
    y.setflags(write=False)
    return CustomPoints(x=x32, y=y, classes=classes,
                        name=PREFIX + content_hash(x32, y, classes))


def parse_csv(raw: bytes) -> CustomPoints:
    """A CSV file's bytes -> checked points; UploadError with the reason otherwise.

    The file needs a header row naming the columns x1, x2 and label (any order, any case);
    one point per row."""
    if raw is None or len(raw) == 0:
        raise UploadError(_("The file is empty: it needs a header row x1,x2,label and one "
                            "point per row."))
    if len(raw) > MAX_FILE_BYTES:
        raise UploadError(_("The file is {size:,.0f} KB: at most {most} KB ({points:,} "
                            "points).").format(size=len(raw) / 1000, most=MAX_FILE_BYTES // 1000,
                                               points=MAX_POINTS))
    if b"\x00" in raw[:4096]:
        raise UploadError(_("This is not a CSV text file (it contains binary data). Save the "
                            "points as CSV: a header row x1,x2,label and one point per row."))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UploadError(_("This is not a CSV text file (it is not UTF-8 text). Save the "
                            "points as CSV: a header row x1,x2,label and one point per row.")
                          ) from None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise UploadError(_("The file has no rows: it needs a header row x1,x2,label and one "
                            "point per row."))
    try:
        dialect = csv.Sniffer().sniff(lines[0], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    rows = list(csv.reader(lines, delimiter=delimiter))
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        shown = ", ".join(literal(h) for h in rows[0][:5]) or _("nothing")
        if len(header) == 1 and delimiter == ",":
            raise UploadError(_("This does not look like a CSV file with columns x1, x2 and "
                                "label: its first line is {line}.").format(
                                    line=literal(lines[0][:60])))
        raise UploadError(_("The header row must name the columns x1, x2 and label; this "
                            "file's header has {shown} (missing: {missing}).").format(
                                shown=shown + (" ..." if len(rows[0]) > 5 else ""),
                                missing=", ".join(missing)))
    extra = [h for h in header if h not in COLUMNS and h]
    if extra:
        raise UploadError(_("Unexpected column {column}: the file must have exactly the "
                            "columns x1, x2 and label.").format(column=literal(extra[0])))
    where = {c: header.index(c) for c in COLUMNS}
    body = rows[1:]
    if not body:
        raise UploadError(_("The file has a header but no points."))
    if len(body) > MAX_POINTS:
        raise UploadError(_("{n:,} rows of points: at most {most:,}.").format(
            n=len(body), most=MAX_POINTS))
    xs, labels = [], []
    for i, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise UploadError(ngettext(
                "Row {row} has {n} value; the header has {columns} columns.",
                "Row {row} has {n} values; the header has {columns} columns.", len(row)).format(
                    row=i, n=len(row), columns=len(header)))
        point = []
        for c in ("x1", "x2"):
            cell = row[where[c]].strip()
            try:
                point.append(float(cell))
            except ValueError:
                shown = cell if len(cell) <= 20 else cell[:20] + "..."
                raise UploadError(_("Row {row}: {column} is {value}, not a number.").format(
                    row=i, column=c, value=literal(shown))) from None
        if not all(math.isfinite(v) for v in point):
            raise UploadError(_("Row {row}: {column} is not a finite number (NaN or "
                                "infinity).").format(
                                    row=i, column="x1" if not math.isfinite(point[0]) else "x2"))
        xs.append(point)
        labels.append(row[where["label"]])
    return from_points(np.array(xs, np.float64), labels)


# ---------------------------------------------------------------------------- the store


class DataStore:
    """The data sets this process holds, least recently used first out, bounded in count and
    bytes. Thread-safe: every session of the server uses it."""

    def __init__(self, max_sets: int = MAX_SETS, max_bytes: int = MAX_STORE_BYTES):
        self.max_sets, self.max_bytes = max_sets, max_bytes
        self._sets: OrderedDict[str, CustomPoints] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, points: CustomPoints) -> str:
        with self._lock:
            self._sets[points.name] = points
            self._sets.move_to_end(points.name)
            while len(self._sets) > self.max_sets or (
                    len(self._sets) > 1 and self.nbytes() > self.max_bytes):
                self._sets.popitem(last=False)
        return points.name

    def get(self, name: str) -> CustomPoints | None:
        with self._lock:
            points = self._sets.get(name)
            if points is not None:
                self._sets.move_to_end(name)
            return points

    def nbytes(self) -> int:
        return sum(p.nbytes for p in self._sets.values())

    def __len__(self) -> int:
        return len(self._sets)

    def clear(self) -> None:
        with self._lock:
            self._sets.clear()


STORE = DataStore()


def register(points: CustomPoints) -> str:
    """Keep a checked data set on this server; returns its name."""
    return STORE.add(points)


def lookup(name: str) -> CustomPoints:
    """The data set of that name, or ValueError saying it is not on this server."""
    points = STORE.get(name)
    if points is None:
        raise ValueError(f"dataset: {name} is not on this server (uploaded data sets are kept "
                         f"in memory, the {MAX_SETS} most recently used, until the server "
                         "restarts): upload or draw it again")
    return points


def attachment(dataset: str) -> CustomPoints | None:
    """What a run's start command carries so that its host can train it: the points of an
    uploaded data set (None for every other data set)."""
    return STORE.get(dataset) if is_custom(dataset) else None


def receive(points) -> None:
    """File the points a start command carried, after checking they are what they claim to be."""
    if not isinstance(points, CustomPoints):
        raise ValueError("a start command carried data that is not a data set")
    checked = from_points(points.x, [points.classes[k] for k in points.y])
    if checked.name != points.name:
        raise ValueError(f"the data set sent as {points.name} has other content "
                         f"({checked.name})")
    register(checked)


# ---------------------------------------------------------------------------- splits


def split(points: CustomPoints) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, held-out): a fifth of each class held out (at least one point), in an
    order fixed by the data set's content, so every run of it sees the same split."""
    rng = np.random.default_rng(int(points.name[len(PREFIX):], 16))
    train, held = [], []
    for k in range(points.n_classes):
        idx = rng.permutation(np.flatnonzero(points.y == k))
        n_held = max(1, round(HELDOUT_FRACTION * len(idx)))
        held.append(idx[:n_held])
        train.append(idx[n_held:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(held))


def training_size(name: str) -> int:
    """How many points of the data set are trained on (the rest are held out)."""
    return len(split(lookup(name))[0])


def custom_dataset(name: str, far_offset: float = 0.0, whitening: str = "none",
                   translate: tuple[float, float] = (0.0, 0.0), rotate_deg: float = 0.0,
                   scale: float = 1.0):
    """The Dataset of an uploaded data set, as `build_toy_dataset` makes a toy one: the split
    of `split`; the test points are the held-out points moved by the test shift (about the
    training centroid); the whitener is fitted on the training points."""
    from bn_core.data.datasets import Dataset, fit_whitening, shift_points

    points = lookup(name)
    train, held = split(points)
    offset = np.array([far_offset, far_offset], np.float32)
    x_train, x_held = points.x[train] + offset, points.x[held] + offset
    x_test = shift_points(x_held, translate, rotate_deg, scale, centre=x_train.mean(axis=0))
    return Dataset(name=name, x_train=x_train.astype(np.float32), y_train=points.y[train],
                   x_heldout=x_held.astype(np.float32), y_heldout=points.y[held],
                   x_test=x_test.astype(np.float32), y_test=points.y[held],
                   n_classes=points.n_classes, input_dim=2, image_shape=None,
                   whitener=fit_whitening(x_train, whitening))
