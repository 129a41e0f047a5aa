"""Tests for bn_core/engine/records.py: records fed by updates equal the trainer's own, their
state round-trips (a server joining a Ray run), and the time scrubber's past views."""
from __future__ import annotations

import numpy as np

from bn_core.engine.records import NetRecord, RunRecord, recorded_steps, snapshot_at
from bn_core.engine.run import snapshot_of
from bn_core.engine.training import TrainingJob, train_to_end

from conftest import toy_config


def test_a_record_rebuilt_from_its_state_is_equal():
    config = toy_config(steps=120, grid_resolution=10)
    job, record = TrainingJob(config), RunRecord(1, 16)
    job.load()
    while not job.done:
        job.advance(7)
        update = job.drain()
        if update:
            record.apply(update)
    copy = RunRecord.from_state(record.state())
    a, b = snapshot_of(config, record), snapshot_of(config, copy)
    assert a.status == b.status == "finished" and a.step == b.step == 120
    for name in a.nets:
        for part in ("probes", "evals", "checkpoints"):
            x, y = getattr(a.nets[name], part), getattr(b.nets[name], part)
            assert x.keys() == y.keys()
            for col in x:
                np.testing.assert_array_equal(x[col], y[col], err_msg=f"{part}.{col}")
    # both keep decimating alike: one more row offered to each gives equal histories
    for rec in (record, copy):
        rec.nets["bn"].parts["evals"].append(999, **{k: 0.0 for k in a.nets["bn"].evals if k != "step"})
    assert np.array_equal(record.nets["bn"].parts["evals"].view()["step"],
                          copy.nets["bn"].parts["evals"].view()["step"])


def test_the_scrubber_shows_each_chart_as_it_was_at_a_recorded_step():
    config = toy_config(steps=200, probe_every=20, eval_every=20, grid_resolution=12)
    snap = train_to_end(config)
    steps = recorded_steps(snap)
    assert steps[0] == 0 and steps[-1] == 200 and 100 in steps
    past = snapshot_at(snap, 100)
    assert past.step == 100
    for name, view in past.nets.items():
        now = snap.nets[name]
        assert view.probes["step"][-1] == 100 and view.evals["step"][-1] == 100
        i = list(now.probes["step"]).index(100)
        np.testing.assert_array_equal(view.latest["hist"], now.probes["hist"][i])
        j = list(now.checkpoints["step"]).index(100)
        np.testing.assert_array_equal(view.latest["grid"], now.checkpoints["grid"][j])
        assert view.status == "training"
    # the boundary moved between step 0 and the end: the past grid is not the final one
    assert not np.array_equal(snapshot_at(snap, 0).nets["bn"].latest["grid"],
                              snap.nets["bn"].latest["grid"])
    assert snapshot_at(snap, None) is snap and snapshot_at(snap, 10_000) is snap


def test_a_net_record_applies_rows_in_order():
    rec = NetRecord("bn", capacity=4, checkpoint_capacity=2)
    rec.apply({"rows": {"evals": [(s, {"train_acc": s / 10}) for s in range(10)]},
               "status": "training", "step": 9})
    view = rec.view
    assert view.evals["step"][-1] == 9 and view.evals["train_acc"][-1] == np.float32(0.9)
    assert len(view.evals["step"]) <= 4
