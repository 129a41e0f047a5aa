"""Exports of a run: its recorded series as CSV (one row per net and step), its settings as JSON.

Numbers are written exactly as recorded (float32 records in their shortest exact form), so a
value read back equals the run's own record. A long run's histories are thinned (see
bn_core/engine/history.py: every stride-th record and the last); the exports say so: a
`<series>_kept_every` column in the CSV, a "records" entry in the JSON, `thinning_note` in words.
"""
from __future__ import annotations

import csv
import io
import json

import numpy as np

from bn_core.engine.records import RunSnapshot
from bn_core.i18n import N_, _

SERIES = (("evals", "", "evaluations"), ("probes", "", "probes"),
          ("ics", "ics_", "ICS measurements"))


def _columns(prefix: str, series: dict, i: int) -> dict:
    row = {}
    for name, col in series.items():
        if name == "step":
            continue
        value = col[i]
        if np.ndim(value) == 0:
            row[f"{prefix}{name}"] = value
        elif np.ndim(value) == 1:
            for j, v in enumerate(value):
                row[f"{prefix}{name}[{j + 1}]"] = v
        elif name not in ("hist", "bn_hist"):  # histograms are too wide for a CSV
            for j, layer in enumerate(value):
                for k, v in enumerate(layer):
                    row[f"{prefix}{name}[layer{j + 1}][{k}]"] = v
    return row


def _cell(value) -> str:
    """A recorded number as text that reads back to exactly the same number ("" if not finite)."""
    if isinstance(value, (np.floating, float)):
        if not np.isfinite(value):
            return ""
        return str(value) if isinstance(value, np.floating) else repr(value)
    if isinstance(value, (np.integer, np.bool_)):
        return str(int(value))
    return str(value)


def records(series: dict) -> dict:
    """How one recorded series was kept: records offered, rows kept, every how many, last step."""
    steps = series.get("step", ())
    kept = len(steps)
    return {"offered": int(getattr(series, "offered", kept)), "kept": kept,
            "every": int(getattr(series, "stride", 1)),
            "last_step": int(steps[-1]) if kept else None}


def _thinned(snapshot: RunSnapshot) -> list[str]:
    """The series (evals, probes, ics) that some net kept only part of."""
    return [kind for kind, _, _ in SERIES
            if any(records(getattr(v, kind))["kept"] < records(getattr(v, kind))["offered"]
                   for v in snapshot.nets.values())]


def series_csv(snapshot: RunSnapshot) -> str:
    """Every recorded scalar series of every net, joined on (net, step); when a series was
    thinned, a `<series>_kept_every` column gives its stride."""
    thinned = _thinned(snapshot)
    rows, fields = [], ["net", "step"] + [f"{kind}_kept_every" for kind in thinned]
    for name, view in snapshot.nets.items():
        every = {f"{kind}_kept_every": records(getattr(view, kind))["every"] for kind in thinned}
        by_step: dict[int, dict] = {}
        for kind, prefix, _words in SERIES:
            series = getattr(view, kind)
            for i, step in enumerate(series.get("step", np.array([])).tolist()):
                by_step.setdefault(step, {"net": name, "step": step, **every}).update(
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
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return out.getvalue()


def settings_json(snapshot: RunSnapshot, page: str | None = None, replay: bool = True,
                  params: bool = True) -> str:
    """The run's settings and outcome, enough to reproduce it, and how its records were kept;
    with `replay`, also the whole record (every kept row, the latest vectors, arrays as
    base64), so that the file alone replays the run on its page (bn_core/replay.py)."""
    out = {
        "config": snapshot.config.to_dict(),
        "status": snapshot.status,
        "step": snapshot.step,
        "nets": {name: view.status_text for name, view in snapshot.nets.items()},
        "records": {name: {kind: records(getattr(view, kind)) for kind, _, _ in SERIES}
                    for name, view in snapshot.nets.items()},
    }
    if replay:
        from bn_core.replay import replay_section

        out["replay"] = replay_section(snapshot, page, params)
    return json.dumps(out, indent=1 if replay else 2, sort_keys=True)


def _ordinal(n: int) -> str:
    """"2nd", "11th", ... in English; in another language as its catalogue says it."""
    if 10 <= n % 100 <= 20:
        form = N_("{n}th")
    else:
        form = {1: N_("{n}st"), 2: N_("{n}nd"), 3: N_("{n}rd")}.get(n % 10, N_("{n}th"))
    return _(form).format(n=n)


# One whole sentence per thinned series (the CSV's headers stay machine-readable).
KEPT_SENTENCES = {
    "evals": N_("Evaluations: {kept:,} of {offered:,} kept (every {nth} and the last, at step "
                "{step:,})."),
    "probes": N_("Probes: {kept:,} of {offered:,} kept (every {nth} and the last, at step "
                 "{step:,})."),
    "ics": N_("ICS measurements: {kept:,} of {offered:,} kept (every {nth} and the last, at "
              "step {step:,})."),
}


def thinning_note(snapshot: RunSnapshot) -> str | None:
    """In words (whole sentences, in the current language), which records a long run kept
    (None when it kept them all)."""
    thinned = _thinned(snapshot)
    if not thinned or not snapshot.nets:
        return None
    sentences = [_("A long run: to stay within memory, each net's charts and CSV keep only part "
                   "of its records.")]
    for kind, _prefix, _words in SERIES:
        if kind not in thinned:
            continue
        r = max((records(getattr(v, kind)) for v in snapshot.nets.values()),
                key=lambda r: r["offered"])
        sentences.append(_(KEPT_SENTENCES[kind]).format(
            kept=r["kept"], offered=r["offered"], nth=_ordinal(r["every"]), step=r["last_step"]))
    return " ".join(sentences)
