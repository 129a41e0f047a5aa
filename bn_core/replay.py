"""Replays: a run recorded earlier, shown with every chart of its page and no training.

A run's JSON export (bn_core/export.py) carries, beside its settings, its whole record: every
net's kept history rows (probes, evaluations, ICS), its latest vectors (histograms, decision
grid, BN statistics, feature maps) and its checkpoints, numpy arrays as base64. `from_export`
rebuilds the record from those rows with `RunRecord.from_state`, the path a server takes to
mirror a run another process records, and the snapshot is `snapshot_of(config, record)`: the
very RunSnapshot a live run of that record gives, so the page draws it with its own code.

An older export (settings JSON without the record) together with its series CSV replays the
scalar series (accuracy, loss, percentiles, moments, gradients, ICS): the CSV's rows are
offered to a fresh record as a trainer's updates. Charts that need what a CSV does not carry
(histograms, decision regions) then say that nothing was recorded.

Runs of a page's default settings, recorded by scripts/record_replays.py, ship in
assets/replays/ (gzipped JSON): `shipped(config)` finds the one of a config, for a page to show
at first paint while its live run starts.
"""
from __future__ import annotations

import base64
import csv
import functools
import gzip
import hashlib
import io
import json
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bn_core.config import RunConfig, is_custom_dataset
from bn_core.engine.history import DEFAULT_CAPACITY
from bn_core.engine.records import LIVE_STATUSES, RunRecord, RunSnapshot
from bn_core.markdown import literal

FORMAT = "bnlab-replay-1"
REPLAY_DIR = Path(__file__).resolve().parents[1] / "assets" / "replays"
MAX_UPLOAD_BYTES = 5 * 2**20          # what the server accepts (.streamlit/config.toml)
MAX_UNPACKED_BYTES = 40 * 2**20       # a gzipped export, unpacked
EVAL_COLUMN = re.compile(r"(train|heldout|test)_(acc|loss)(_train_mode)?$")
CELL = re.compile(r"^(?P<name>[A-Za-z_]+)(\[(?P<a>[^\]]+)\])?(\[(?P<b>[^\]]+)\])?$")


class ReplayError(ValueError):
    """Why files cannot be replayed, in words a teacher can act on."""


# ---------------------------------------------------------------------------- encoding

def _narrowest(arr: np.ndarray) -> np.ndarray:
    """Counts (histograms: int32) in the fewest bytes that hold them exactly (most of an
    export's bytes, so a 50,000-step run stays well under the upload limit)."""
    if arr.dtype.kind not in "iu" or arr.size == 0 or arr.min() < 0:
        return arr
    top = int(arr.max())
    for kind in (np.uint8, np.uint16):
        if top <= np.iinfo(kind).max and np.dtype(kind).itemsize < arr.dtype.itemsize:
            return arr.astype(kind)
    return arr


def encode(value):
    """A record's state as JSON-able data: numpy arrays as {"nd": dtype, "shape", "b64"}, with
    "as": the array's own dtype when it is stored narrower."""
    if isinstance(value, np.ndarray):
        arr = np.ascontiguousarray(value)
        stored = _narrowest(arr)
        out = {"nd": stored.dtype.str, "shape": list(arr.shape),
               "b64": base64.b64encode(stored.tobytes()).decode("ascii")}
        if stored.dtype != arr.dtype:
            out["as"] = arr.dtype.str
        return out
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": repr(value)}
    return value


ALLOWED_DTYPES = {"<f4", "<f8", "<i4", "<i8", "|u1", "|i1", "<i2", "<u2", "|b1", "<u4"}


def decode(value):
    """The inverse of `encode` (dtypes limited to plain numbers: nothing executable)."""
    if isinstance(value, dict):
        if set(value) in ({"nd", "shape", "b64"}, {"nd", "shape", "b64", "as"}):
            for kind in (value["nd"], value.get("as", value["nd"])):
                if kind not in ALLOWED_DTYPES:
                    raise ReplayError(f"an array of type {literal(kind)} is not a recorded "
                                      "number type")
            arr = np.frombuffer(base64.b64decode(value["b64"]), np.dtype(value["nd"]))
            arr = arr.reshape([int(s) for s in value["shape"]])
            return arr.astype(np.dtype(value.get("as", value["nd"])))
        if set(value) == {"float"}:
            return float(value["float"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def _history_state(view, drop: tuple = ()) -> dict:
    """A History's state from a snapshot's view of it (the kept rows, the thinning)."""
    cols = {name: np.asarray(col) for name, col in view.items() if name not in drop}
    n = len(cols.get("step", ()))
    return {"capacity": max(DEFAULT_CAPACITY, n), "stride": int(getattr(view, "stride", 1)),
            "offered": int(getattr(view, "offered", n)), "n": n, "cols": cols, "tail": None}


def record_state(snap: RunSnapshot, params: bool = True) -> dict:
    """The state of a RunRecord equal to what the snapshot shows (for `RunRecord.from_state`);
    without `params`, the checkpoints keep their decision grids but not the nets' parameters
    (what re-scores a shifted test set: most of a toy run's bytes)."""
    nets = []
    for name, v in snap.nets.items():
        nets.append({"name": name, "status": v.status, "step": v.step,
                     "diverged_at": v.diverged_at, "latest": dict(v.latest),
                     "initial_grid": v.initial_grid,
                     "parts": {p: _history_state(getattr(v, p)) for p in ("probes", "evals", "ics")},
                     "checkpoints": _history_state(v.checkpoints,
                                                   () if params else ("params",))})
    capacity = max([DEFAULT_CAPACITY] + [len(v.probes.get("step", ())) for v in snap.nets.values()])
    return {"attempt": snap.attempt or 1, "capacity": capacity, "checkpoint_capacity": max(
        [64] + [len(v.checkpoints.get("step", ())) for v in snap.nets.values()]),
        "status": snap.status, "message": snap.message, "step": snap.step,
        "elapsed": snap.elapsed, "steps_per_sec": snap.steps_per_sec, "pace": snap.pace,
        "nets": nets}


def replay_section(snap: RunSnapshot, page: str | None = None, params: bool = True) -> dict:
    """What a JSON export adds so that it replays: format, page, the encoded record, and the
    points of an uploaded data set."""
    out = {"format": FORMAT, "page": page, "record": encode(record_state(snap, params))}
    if is_custom_dataset(snap.config.dataset):
        from bn_core.data import custom

        points = custom.STORE.get(snap.config.dataset)
        if points is not None:
            out["points_csv"] = points.to_csv()
    return out


# ---------------------------------------------------------------------------- replays

@dataclass(frozen=True)
class Replay:
    """A recorded run: its config, its record and where it came from."""

    config: RunConfig
    record: RunRecord
    source: str            # in words: "bnlab-figure1.json", "recorded with BN Lab"
    page: str | None       # the page it was exported from, if the export says
    digest: str            # a hash of the files: the replay's identity
    complete: bool         # False for a CSV replay (no histograms, no decision regions)

    @property
    def key(self) -> str:
        return f"replay:{self.digest}|{self.config.key()}"

    def snapshot(self) -> RunSnapshot:
        """The recorded run as a RunSnapshot (never live: a recording does not train)."""
        from bn_core.engine.run import snapshot_of

        snap = snapshot_of(self.config, self.record, key=self.key, viewers=0)
        if snap.status in LIVE_STATUSES or snap.status == "ready":
            snap = replace(snap, status="stopped",
                           message=f"recorded at step {snap.step:,} of {snap.total_steps:,}")
        return snap


def _config(settings: dict) -> RunConfig:
    values = settings.get("config")
    if not isinstance(values, dict):
        raise ReplayError("This JSON file has no run settings (\"config\"): it is not a BN Lab "
                          "export.")
    try:
        return RunConfig.from_dict(values)
    except (TypeError, ValueError) as exc:
        raise ReplayError(f"The run settings in this file are not valid here: "
                          f"{literal(exc)}.") from None


def _load_json(name: str, raw: bytes) -> dict:
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.GzipFile(fileobj=io.BytesIO(raw)).read(MAX_UNPACKED_BYTES + 1)
        except (OSError, EOFError):
            raise ReplayError(f"{literal(name)} is not a readable gzip file.") from None
        if len(raw) > MAX_UNPACKED_BYTES:
            raise ReplayError(f"{literal(name)} unpacks to more than "
                              f"{MAX_UNPACKED_BYTES // 2**20} MB.")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ReplayError(f"{literal(name)} is not a JSON file.") from None
    if not isinstance(data, dict):
        raise ReplayError(f"{literal(name)} is not a BN Lab export (not a JSON object).")
    return data


def from_files(files: list[tuple[str, bytes]]) -> Replay:
    """A replay from uploaded files: one JSON export (with its record), or a JSON export and
    its series CSV. ReplayError says what is wrong or missing."""
    if not files:
        raise ReplayError("No file: upload a run's JSON export (and, for an older export, its "
                          "CSV).")
    for name, raw in files:
        if len(raw) > MAX_UPLOAD_BYTES:
            raise ReplayError(f"{literal(name)} is {len(raw) / 2**20:.1f} MB: at most "
                              f"{MAX_UPLOAD_BYTES // 2**20} MB.")
    jsons, csvs = [], []
    for name, raw in files:
        head = raw.lstrip()[:1]
        if raw[:2] == b"\x1f\x8b" or head in (b"{", b"["):
            jsons.append((name, raw))
        else:
            csvs.append((name, raw))
    if len(jsons) != 1:
        raise ReplayError("Upload exactly one JSON export of the run" + (
            f" (got {len(jsons)})." if jsons else ": the CSV alone does not say the run's "
                                                   "settings."))
    if len(csvs) > 1:
        raise ReplayError(f"Upload at most one CSV with the JSON (got {len(csvs)}).")
    name, raw = jsons[0]
    settings = _load_json(name, raw)
    config = _config(settings)
    digest = hashlib.sha256(b"".join(r for _, r in sorted(files))).hexdigest()[:16]
    section = settings.get("replay")
    _restore_points(section)
    if isinstance(section, dict) and section.get("record") is not None:
        try:
            record = RunRecord.from_state(decode(section["record"]))
        except ReplayError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ReplayError(f"The record in {literal(name)} is damaged: it cannot be "
                              "replayed.") from None
        return Replay(config, record, name, section.get("page"), digest, True)
    if not csvs:
        raise ReplayError(f"{literal(name)} has the run's settings but not its records (an "
                          "export made before replays existed): upload its series CSV with it.")
    return Replay(config, record_from_csv(csvs[0][1], settings, csvs[0][0]),
                  f"{name} + {csvs[0][0]}", None, digest, False)


def _restore_points(section) -> None:
    """An export of a run on uploaded data carries its points: keep them on this server."""
    if isinstance(section, dict) and isinstance(section.get("points_csv"), str):
        from bn_core.data import custom

        try:
            custom.register(custom.parse_csv(section["points_csv"].encode()))
        except custom.UploadError as exc:
            raise ReplayError(f"The data set in this export cannot be read: {exc}") from None


# ---------------------------------------------------------------------------- CSV replays

def _status(text: str) -> tuple[str, int | None]:
    m = re.match(r"diverged at step (\d+)", text or "")
    return ("diverged", int(m.group(1))) if m else ((text or "finished"), None)


def record_from_csv(raw: bytes, settings: dict, name: str = "the CSV") -> RunRecord:
    """A RunRecord of the scalar series in a series CSV (one row per net and step), its rows
    offered as a trainer's updates. Columns name[i] and name[layerL][k] become vectors and
    (layers, k) arrays; train/held-out/test accuracy and loss are evaluations, ics_* ICS
    measurements, the rest probes."""
    try:
        reader = csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))
        rows = list(reader)
    except (UnicodeDecodeError, csv.Error):
        raise ReplayError(f"{literal(name)} is not a CSV text file.") from None
    if not rows or not {"net", "step"} <= set(reader.fieldnames or ()):
        raise ReplayError(f"{literal(name)} is not a BN Lab series CSV (it needs the columns "
                          "net and step).")
    by_net: dict[str, dict[str, list]] = {}
    for row in rows:
        net = row["net"]
        try:
            step = int(row["step"])
        except ValueError:
            raise ReplayError(f"{literal(name)}: a step is {literal(row['step'])}, not a whole "
                              "number.") from None
        parts = {"evals": {}, "probes": {}, "ics": {}}
        for column, cell in row.items():
            if column in ("net", "step") or column.endswith("_kept_every") or column is None:
                continue
            m = CELL.match(column)
            if m is None:
                continue
            base = m.group("name")
            part = "ics" if base.startswith("ics_") else "evals" if EVAL_COLUMN.match(base) \
                else "probes"
            key = base[4:] if part == "ics" else base
            try:
                value = float(cell) if cell != "" else math.nan
            except ValueError:
                raise ReplayError(f"{literal(name)}: {literal(column)} at step {step} is "
                                  f"{literal(cell)}, not a number.") from None
            slot = parts[part].setdefault(key, {})
            if m.group("b") is not None:
                layer = int(m.group("a").removeprefix("layer")) - 1
                slot[(layer, int(m.group("b")))] = value
            elif m.group("a") is not None:
                slot[(int(m.group("a")) - 1,)] = value
            else:
                slot[()] = value
        for part, columns in parts.items():
            by_net.setdefault(net, {}).setdefault(part, []).append((step, columns))
    statuses = settings.get("nets") or {}
    record = RunRecord(1, max(DEFAULT_CAPACITY, len(rows) + 2))
    for net, raw_parts in by_net.items():
        parts = {}
        for part, raw_rows in raw_parts.items():
            # the CSV has every net's columns: keep those this net recorded, and its rows of
            # this part (the steps where one of them has a value)
            def filled(cells):
                return any(not math.isnan(x) for x in cells.values())
            keep = sorted(k for k in raw_rows[0][1]
                          if not (net in NETS_WITHOUT_NORMS and _is_norm_column(k)))
            kept = [(step, {k: _assemble(cols[k]) for k in keep}) for step, cols in raw_rows
                    if any(filled(cols[k]) for k in keep)]
            if kept:
                parts[part] = kept
        status, diverged = _status(statuses.get(net, "finished"))
        steps = [s for rows_ in parts.values() for s, _ in rows_]
        record.apply({"nets": {net: {"rows": parts, "status": status, "diverged_at": diverged,
                                     "step": max(steps) if steps else 0}}})
    record.apply({"status": settings.get("status", "finished"),
                  "step": int(settings.get("step", 0) or 0)})
    return record


NETS_WITHOUT_NORMS = ("plain", "noisy_plain")   # their probes record no BN-layer columns
NORM_COLUMNS = ("running_mean", "running_var", "gamma", "beta", "gamma_mean_abs", "beta_mean")


def _is_norm_column(name: str) -> bool:
    return name.startswith("bn_") or name in NORM_COLUMNS


def _assemble(cells: dict):
    """Cells {(): v} -> v; {(i,): v} -> a vector; {(layer, k): v} -> a (layers, k) array."""
    if () in cells:
        return cells[()]
    dims = len(next(iter(cells)))
    shape = tuple(max(k[d] for k in cells) + 1 for d in range(dims))
    out = np.full(shape, np.nan, np.float32)
    for index, value in cells.items():
        out[index] = value
    return out


# ---------------------------------------------------------------------------- shipped replays

def replay_file(config: RunConfig) -> Path:
    """Where the shipped recording of a config lives (named by a hash of its run key)."""
    return REPLAY_DIR / f"{hashlib.sha256(config.key().encode()).hexdigest()[:16]}.json.gz"


@functools.lru_cache(maxsize=32)
def _shipped(path: str, mtime: float) -> Replay | None:
    raw = Path(path).read_bytes()
    return from_files([(Path(path).name, raw)])


def shipped(config: RunConfig) -> Replay | None:
    """The recording of this exact config that ships with the app, if there is one."""
    path = replay_file(config)
    if not path.exists():
        return None
    replay = _shipped(str(path), path.stat().st_mtime)
    if replay is None or replay.config.key() != config.key():
        return None
    return Replay(replay.config, replay.record, "recorded with BN Lab", replay.page,
                  replay.digest, replay.complete)


def write_shipped(snap: RunSnapshot, page: str | None) -> Path:
    """Record a finished run as the shipped replay of its config (scripts/record_replays.py):
    the export without the checkpoints' parameters (a first paint needs the grids only)."""
    from bn_core.export import settings_json

    REPLAY_DIR.mkdir(parents=True, exist_ok=True)
    path = replay_file(snap.config)
    text = settings_json(snap, page=page, params=False).encode()
    path.write_bytes(gzip.compress(text, compresslevel=9, mtime=0))
    return path
