"""Exports of a run: its recorded series as CSV (one row per net and step), its settings as JSON."""
from __future__ import annotations

import csv
import io
import json
import math

import numpy as np

from bn_core.engine.records import RunSnapshot


def _columns(prefix: str, series: dict, i: int) -> dict:
    row = {}
    for name, col in series.items():
        if name == "step":
            continue
        value = col[i]
        if np.ndim(value) == 0:
            row[f"{prefix}{name}"] = float(value)
        elif np.ndim(value) == 1:
            for j, v in enumerate(value):
                row[f"{prefix}{name}[{j + 1}]"] = float(v)
        elif name not in ("hist", "bn_hist"):  # histograms are too wide for a CSV
            for j, layer in enumerate(value):
                for k, v in enumerate(layer):
                    row[f"{prefix}{name}[layer{j + 1}][{k}]"] = float(v)
    return row


def series_csv(snapshot: RunSnapshot) -> str:
    """Every recorded scalar series of every net, joined on (net, step)."""
    rows, fields = [], ["net", "step"]
    for name, view in snapshot.nets.items():
        by_step: dict[int, dict] = {}
        for prefix, series in (("", view.evals), ("", view.probes), ("ics_", view.ics)):
            for i, step in enumerate(series.get("step", np.array([])).tolist()):
                by_step.setdefault(step, {"net": name, "step": step}).update(
                    _columns(prefix, series, i))
        for step in sorted(by_step):
            rows.append(by_step[step])
    for row in rows:
        for key in row:
            if key not in fields:
                fields.append(key)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, restval="")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) and math.isfinite(v) else
                             ("" if isinstance(v, float) else v)) for k, v in row.items()})
    return out.getvalue()


def settings_json(snapshot: RunSnapshot) -> str:
    """The run's settings and outcome, enough to reproduce it."""
    return json.dumps({
        "config": snapshot.config.to_dict(),
        "status": snapshot.status,
        "step": snapshot.step,
        "nets": {name: view.status_text for name, view in snapshot.nets.items()},
    }, indent=2, sort_keys=True)
