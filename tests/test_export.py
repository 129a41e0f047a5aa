"""Tests for bn_core/export.py: a long, decimated run's CSV ends at its last step, every value in
it equals the run's own record, and the exports say when and how rows were thinned."""
from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from bn_core.engine.training import train_to_end
from bn_core import export
from bn_core.export import series_csv, settings_json

from conftest import toy_config

STEPS = 5003  # not a multiple of the probe interval: the last probe is off the stride
CAPACITY = 64  # 501 probes and evaluations into 64 rows: thinned to every 8th


@pytest.fixture(scope="module")
def long_run():
    config = toy_config(steps=STEPS, probe_every=10, eval_every=10, ics_every=250, depth=2,
                        width=8, heldout_size=50)
    return train_to_end(config, capacity=CAPACITY)


def csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def recorded_value(text: str, record) -> bool:
    """Whether a CSV cell holds exactly the recorded number (stored as float32 or an int)."""
    if text == "":
        return not np.isfinite(record)
    kind = np.asarray(record).dtype
    return kind.type(text) == record if kind.kind == "f" else int(text) == record


def test_the_csv_of_a_long_decimated_run_ends_at_the_last_step(long_run):
    rows = csv_rows(series_csv(long_run))
    assert long_run.step == STEPS
    for name in long_run.nets:
        steps = [int(r["step"]) for r in rows if r["net"] == name]
        assert steps[-1] == STEPS
        assert len(steps) < 501  # it was thinned
    assert json.loads(settings_json(long_run))["step"] == STEPS


def test_every_csv_value_equals_the_run_s_own_record(long_run):
    rows = {(r["net"], int(r["step"])): r for r in csv_rows(series_csv(long_run))}
    checked = 0
    for name, view in long_run.nets.items():
        for prefix, series in (("", view.evals), ("", view.probes), ("ics_", view.ics)):
            assert len(series["step"]) > 2
            for i, step in enumerate(series["step"].tolist()):
                row = rows[(name, step)]
                for column, values in series.items():
                    if column == "step" or column in ("hist", "bn_hist"):
                        continue
                    cells = values[i]
                    if np.ndim(cells) == 0:
                        pairs = [(f"{prefix}{column}", cells)]
                    elif np.ndim(cells) == 1:
                        pairs = [(f"{prefix}{column}[{j + 1}]", c) for j, c in enumerate(cells)]
                    else:
                        pairs = [(f"{prefix}{column}[layer{j + 1}][{k}]", c)
                                 for j, layer in enumerate(cells) for k, c in enumerate(layer)]
                    for key, record in pairs:
                        assert recorded_value(row[key], record), (name, step, key, row[key], record)
                        checked += 1
    assert checked > 1000


def test_the_exports_say_that_rows_were_thinned_and_how(long_run):
    info = json.loads(settings_json(long_run))["records"]
    for name, view in long_run.nets.items():
        probes = info[name]["probes"]
        assert probes["offered"] == 502  # steps 0, 10, ..., 5000 and the last, 5003
        assert probes["kept"] == len(view.probes["step"]) < probes["offered"]
        assert probes["every"] == view.probes.stride > 1
        assert probes["last_step"] == STEPS
    note = export.thinning_note(long_run)
    assert note is not None and "502" in note and f"{STEPS:,}" in note
    header = series_csv(long_run).splitlines()[0].split(",")
    assert "probes_kept_every" in header and "evals_kept_every" in header
    rows = csv_rows(series_csv(long_run))
    assert {r["probes_kept_every"] for r in rows} == {str(long_run.nets["plain"].probes.stride)}


def test_a_short_run_is_not_thinned_and_says_nothing():
    snap = train_to_end(toy_config(steps=95, probe_every=10, eval_every=20))
    assert export.thinning_note(snap) is None
    assert "kept_every" not in series_csv(snap).splitlines()[0]
    rows = csv_rows(series_csv(snap))
    assert [int(r["step"]) for r in rows if r["net"] == "bn"] == \
        [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95]
    info = json.loads(settings_json(snap))["records"]["bn"]["evals"]
    assert info == {"offered": 6, "kept": 6, "every": 1, "last_step": 95}
