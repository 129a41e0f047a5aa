"""Tests for bn_core/engine/training.py: live runs of twin nets, their records and their control."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bn_core.engine import training
from bn_core.config import RunConfig
from bn_core.nets.models import build_twins
from bn_core.engine.run import Run
from bn_core.engine.training import SGD, BatchSchedule, train_to_end

from conftest import endless_config, toy_config, wait_until

pytestmark = pytest.mark.usefixtures("no_leaked_threads")


def hosted_keys() -> set:
    """Keys of the runs the shared in-process backend's host is holding."""
    from bn_core import engine

    return {k for ch in engine.default_backend().channels for k in list(ch.host.jobs)}


def assert_same_records(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)  # nan == nan here


def columns_consistent(columns: dict) -> bool:
    lengths = {len(col) for col in columns.values()}
    return len(lengths) <= 1


# ---------------------------------------------------------------------------- batches

def test_batch_schedule_is_deterministic_and_each_epoch_is_a_permutation():
    y = np.arange(103) % 3
    a, b = BatchSchedule(y, 10, 1.0, seed=4), BatchSchedule(y, 10, 1.0, seed=4)
    assert a.per_epoch == 10
    epochs = []
    for epoch in range(3):
        batches = [a.indices(epoch * 10 + k) for k in range(10)]
        for k, batch in enumerate(batches):
            assert torch.equal(batch, b.indices(epoch * 10 + k))
            assert len(batch) == 10
        seen = torch.cat(batches).numpy()
        assert len(np.unique(seen)) == 100  # no example twice within an epoch
        epochs.append(seen)
    assert not np.array_equal(epochs[0], epochs[1])  # a fresh order each epoch
    # going back to an earlier step gives the same batch (the schedule is a pure function)
    assert torch.equal(a.indices(3), BatchSchedule(y, 10, 1.0, seed=4).indices(3))
    assert not torch.equal(BatchSchedule(y, 10, 1.0, seed=5).indices(0), a.indices(0))


def test_twins_see_identical_batches(monkeypatch):
    seen: dict[str, list] = {}
    original = training.Trainer.loss

    def recording_loss(self, xb, yb, trace):
        seen.setdefault(self.name, []).append((xb.clone(), yb.clone()))
        return original(self, xb, yb, trace)

    monkeypatch.setattr(training.Trainer, "loss", recording_loss)
    config = toy_config(steps=40, nets=("plain", "bn", "noisy_bn", "noisy_plain"))
    train_to_end(config)
    assert set(seen) == set(config.nets)
    setup = training.prepare(config)
    schedule = BatchSchedule(setup.data.y_train, config.batch_size, config.shuffle, config.seed)
    for name, batches in seen.items():
        assert len(batches) == config.steps
        for step, (xb, yb) in enumerate(batches):
            idx = schedule.indices(step)
            assert torch.equal(xb, setup.x_train[idx]), (name, step)
            assert torch.equal(yb, setup.y_train[idx]), (name, step)


# ---------------------------------------------------------------------------- determinism

def test_the_same_config_twice_gives_identical_records():
    config = toy_config(steps=120, nets=("plain", "bn", "noisy_bn", "noisy_plain"), dropout=0.1,
                        grid_resolution=8, ics_every=40)
    first, second = train_to_end(config), train_to_end(config)
    for name in config.nets:
        a, b = first.nets[name], second.nets[name]
        assert_same_records(a.probes, b.probes)
        assert_same_records(a.evals, b.evals)
        assert_same_records(a.ics, b.ics)
        np.testing.assert_array_equal(a.latest["grid"], b.latest["grid"])
        assert np.isfinite(a.probes["loss"][1:]).all() and len(a.evals["step"]) == 13


@pytest.mark.parametrize("alone", ["plain", "noisy_bn"])
def test_a_net_trained_alone_records_what_its_twin_records(alone):
    config = toy_config(steps=120, nets=("plain", "bn", "noisy_bn"), dropout=0.1)
    twin = train_to_end(config).nets[alone]
    single = train_to_end(config.replace(nets=(alone,))).nets[alone]
    assert_same_records(twin.probes, single.probes)
    assert_same_records(twin.evals, single.evals)


@pytest.mark.parametrize("measure", [dict(ics_every=7), dict(probe_every=1),
                                     dict(grid_resolution=12)])
def test_measuring_does_not_change_what_the_nets_learn(measure):
    """Probes, ICS and landscape measurements and decision grids put back every parameter,
    running statistic and noise state: the held-out curves are those of an unmeasured run."""
    config = toy_config(steps=60, eval_every=10, probe_every=30, ics_every=0,
                        nets=("plain", "bn", "noisy_bn"), dropout=0.1)
    quiet, measured = train_to_end(config), train_to_end(config.replace(**measure))
    for name in config.nets:
        assert_same_records(quiet.nets[name].evals, measured.nets[name].evals)


# ---------------------------------------------------------------------------- optimiser

@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_our_sgd_matches_torch_sgd(momentum):
    config = RunConfig(dataset="moons", depth=2, width=16, nets=("bn",), seed=2)
    ours = build_twins(config, 2, 2)["bn"]
    ref = build_twins(config, 2, 2)["bn"]
    p_ours = [p for p in ours.parameters() if p.requires_grad]
    p_ref = [p for p in ref.parameters() if p.requires_grad]
    opt_ours = SGD(p_ours, lr=0.3, momentum=momentum)
    opt_ref = torch.optim.SGD(p_ref, lr=0.3, momentum=momentum)
    g = torch.Generator().manual_seed(0)
    for _ in range(8):
        x = torch.randn(32, 2, generator=g)
        y = (x[:, 0] * x[:, 1] > 0).long()
        opt_ours.step(torch.autograd.grad(F.cross_entropy(ours(x), y), p_ours))
        opt_ref.zero_grad()
        F.cross_entropy(ref(x), y).backward()
        opt_ref.step()
    start = build_twins(config, 2, 2)["bn"].parameters()
    moved = max(float((a - b).detach().abs().max()) for a, b in zip(p_ours, start))
    assert moved > 0.01
    for a, b in zip(p_ours, p_ref):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------------------- divergence

# A ReLU net at init scale 3 and lr 1: the plain net blows up within a few steps (for seed 0;
# whether it does is seed-dependent), the BN twin trains. Probed at every step, so the weights
# are checked at every step and the divergence step is exact.
DIVERGING = dict(dataset="moons", n_samples=400, noise=0.15, batch_size=60, activation="relu",
                 depth=3, width=16, lr=1.0, init_scale=3.0, steps=100, probe_every=1,
                 eval_every=1, grid_resolution=0, heldout_size=200, nets=("plain", "bn"), seed=0)


def reference_divergence_step(config: RunConfig) -> int | None:
    """The first step whose loss, or whose updated weights, are not finite (torch's SGD)."""
    setup = training.prepare(config)
    net = build_twins(config.replace(nets=("plain",)), 2, setup.n_outputs)["plain"]
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=config.effective_lr)
    schedule = BatchSchedule(setup.data.y_train, config.batch_size, config.shuffle, config.seed)
    for step in range(1, config.steps + 1):
        idx = schedule.indices(step - 1)
        loss = F.cross_entropy(net(setup.x_train[idx]), setup.y_train[idx])
        if not torch.isfinite(loss):
            return step
        opt.zero_grad()
        loss.backward()
        opt.step()
        if not all(bool(torch.isfinite(p).all()) for p in params):
            return step
    return None


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid:RuntimeWarning")
def test_a_net_that_diverges_without_bn_is_reported_and_the_bn_twin_finishes():
    config = RunConfig(**DIVERGING)
    expected = reference_divergence_step(config)
    assert expected is not None and 1 < expected < config.steps
    snap = train_to_end(config)
    plain, bn = snap.nets["plain"], snap.nets["bn"]
    assert plain.status == "diverged"
    assert plain.diverged_at == expected
    assert plain.step == expected
    assert plain.status_text == f"diverged at step {expected}"
    assert plain.probes["step"].max() < expected  # nothing recorded from a diverged state
    assert bn.status == "finished" and bn.status_text == "finished" and bn.diverged_at is None
    assert bn.step == config.steps
    assert np.isfinite(bn.probes["loss"][1:]).all()
    assert bn.evals["heldout_acc"][-1] > 0.9
    assert snap.status == "finished" and snap.step == config.steps


def test_the_same_rate_is_fine_for_the_plain_net_at_a_normal_init_scale():
    snap = train_to_end(RunConfig(**{**DIVERGING, "init_scale": 1.0, "probe_every": 10,
                                     "eval_every": 10}))
    assert {v.status for v in snap.nets.values()} == {"finished"}


# ---------------------------------------------------------------------------- a whole run

def test_a_run_that_finishes():
    config = toy_config(steps=95, probe_every=10, eval_every=20)
    run = Run(config)
    assert run.status == "ready" and run.snapshot().nets == {}
    run.start()
    assert run.wait(30)
    snap = run.snapshot()
    assert snap.status == "finished" and not snap.live
    assert snap.step == snap.total_steps == 95 and snap.progress == 1.0
    assert snap.message == ""
    for view in snap.nets.values():
        assert view.status == "finished" and view.step == 95
        np.testing.assert_array_equal(view.probes["step"], [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95])
        np.testing.assert_array_equal(view.evals["step"], [0, 20, 40, 60, 80, 95])
        assert view.evals["train_acc"][-1] > 0.7
    assert snap.elapsed > 0 and snap.steps_per_sec > 0
    assert snap.edges is not None and snap.data is not None


def test_probes_record_every_hidden_layer_with_the_configured_percentiles():
    config = toy_config(depth=3, width=8, percentiles=(5, 50, 95), probe_unit=2, steps=50,
                        probe_every=10, heldout_size=100, grid_resolution=7)
    snap = train_to_end(config)
    setup = training.prepare(config)
    fresh = build_twins(config, 2, setup.n_outputs)
    for name, view in snap.nets.items():
        p = view.probes
        n = len(p["step"])
        assert n == 6
        assert p["unit_pct"].shape == p["pooled_pct"].shape == (n, 3, 3)
        assert p["hist"].shape == (n, 3, 60) and p["bn_hist"].shape == (n, 3, 60)
        assert (p["hist"].sum(axis=2) == 100 * 8).all()  # probe examples x units, every layer
        assert p["grad_norm"].shape == (n, 4)
        assert (np.diff(p["unit_pct"], axis=2) >= 0).all()  # 5th <= 50th <= 95th
        assert view.latest["grid"].shape == (7, 7, 2) and view.initial_grid.shape == (7, 7, 2)
        # the step-0 record is the initial net's pre-activations on the probe set
        trace: list = []
        with torch.no_grad():
            fresh[name](setup.x_probe, trace)
        for layer, t in enumerate(trace):
            pre = t["pre"].numpy()
            np.testing.assert_allclose(p["unit_pct"][0, layer],
                                       np.percentile(pre[:, 2], (5, 50, 95)), rtol=1e-5, atol=1e-6)
            assert p["mean"][0, layer] == pytest.approx(float(pre.mean()), abs=1e-5)
    bn = snap.nets["bn"].probes
    assert (bn["bn_hist"].sum(axis=2) == 800).all()
    assert (snap.nets["plain"].probes["bn_hist"] == 0).all()  # the plain net has no BN input
    for name in ("running_mean", "running_var", "gamma", "beta", "bn_batch_mean"):
        assert bn[name].shape == (6, 3)
    assert len(snap.nets["bn"].latest["bn"]) == 3


def test_ics_and_landscape_are_recorded_when_asked():
    config = toy_config(steps=60, ics_every=20, depth=3)
    snap = train_to_end(config)
    for view in snap.nets.values():
        ics = view.ics
        np.testing.assert_array_equal(ics["step"], [20, 40, 60])
        assert ics["dist"].shape == ics["cos"].shape == (3, 4)
        assert (ics["dist"][:, 0] == 0).all() and (ics["cos"][:, 0] == 1).all()
        assert ((ics["cos"] >= -1) & (ics["cos"] <= 1)).all()
        for name in ("loss_range", "grad_change", "beta_smoothness"):
            assert np.isfinite(ics[name]).all()


# ---------------------------------------------------------------------------- the paper's claim

FIGURE_1 = dict(dataset="mnist-subset", depth=3, width=100, activation="sigmoid", batch_size=60,
                lr=0.5, steps=300, probe_every=25, eval_every=50, grid_resolution=0,
                heldout_size=1000, probe_unit=0, nets=("plain", "bn"), seed=0)


@pytest.fixture(scope="module")
def figure_1():
    return train_to_end(RunConfig(**FIGURE_1))


def test_bn_is_ahead_of_the_plain_net_early_on_mnist(figure_1):
    plain, bn = figure_1.nets["plain"].evals, figure_1.nets["bn"].evals
    np.testing.assert_array_equal(plain["step"], [0, 50, 100, 150, 200, 250, 300])
    assert plain["heldout_acc"][0] == bn["heldout_acc"][0]  # the same initial weights
    assert bn["heldout_acc"][-1] > 0.8
    assert bn["heldout_acc"][-1] - plain["heldout_acc"][-1] > 0.2
    assert (bn["heldout_acc"][1:] > plain["heldout_acc"][1:]).all()


def test_the_plain_net_s_last_layer_percentiles_move_more_than_bn_s(figure_1):
    def movement(view):
        band = view.probes["unit_pct"][:, -1, :]  # (probes, 15/50/85) of the last hidden layer
        return np.ptp(band, axis=0).sum(), np.abs(np.diff(band, axis=0)).sum()

    plain_range, plain_path = movement(figure_1.nets["plain"])
    bn_range, bn_path = movement(figure_1.nets["bn"])
    assert figure_1.nets["plain"].probes["unit_pct"].shape == (13, 3, 3)
    assert plain_range > 2 * bn_range
    assert plain_path > 1.5 * bn_path


# ---------------------------------------------------------------------------- memory and reads

MEMORY_CAPACITY = 32
LONG_STEPS = 1200
HISTORY_BYTES_BOUND = 64 * 1024  # per History of a depth-2, width-8 net at capacity 32


def row_bytes(columns: dict) -> int:
    """Bytes of one recorded row, from the column dtypes and shapes."""
    return sum(col.dtype.itemsize * int(np.prod(col.shape[1:])) for col in columns.values())


@pytest.fixture(scope="module")
def long_run_read_while_training():
    """A run probed at every step (1201 probes, 241 evaluations) into 32-row histories,
    while a reader thread takes snapshots; returns the run and what the reader saw."""
    config = toy_config(steps=LONG_STEPS, probe_every=1, eval_every=5, heldout_size=20,
                        depth=2, width=8)
    run = Run(config, capacity=MEMORY_CAPACITY)
    seen = {"snapshots": 0, "during": 0, "errors": [], "seconds": 0.0, "steps": []}

    def reader():
        last = 0
        while run.status in ("ready", "loading", "running") or seen["snapshots"] < 1000:
            t0 = time.perf_counter()
            snap = run.snapshot()
            seen["seconds"] += time.perf_counter() - t0
            seen["snapshots"] += 1
            seen["during"] += snap.status == "running"
            for view in snap.nets.values():
                for part in ("probes", "evals"):
                    if not columns_consistent(getattr(view, part)):
                        seen["errors"].append((view.name, part, snap.step))
            if snap.step < last:
                seen["errors"].append(("step went back", last, snap.step))
            last = snap.step
            seen["steps"].append(snap.step)
            time.sleep(0.0005)  # a tight loop would hold the GIL and starve the trainer
        seen["steps"].append(run.snapshot().step)

    thread = threading.Thread(target=reader, name="test-snapshot-reader")
    run.start()
    thread.start()
    assert run.wait(120)
    thread.join(60)
    return run, seen


def test_histories_stay_bounded_on_a_long_run(long_run_read_while_training):
    run, _ = long_run_read_while_training
    snap = run.snapshot()
    assert snap.status == "finished" and snap.step == LONG_STEPS
    for name, record in run.record.nets.items():
        view = snap.nets[name]
        for hist, part, offered in ((record.parts["probes"], view.probes, LONG_STEPS + 1),
                                    (record.parts["evals"], view.evals, LONG_STEPS // 5 + 1)):
            assert offered > 4 * MEMORY_CAPACITY  # far more records than rows
            assert MEMORY_CAPACITY // 2 <= len(hist) <= MEMORY_CAPACITY
            assert columns_consistent(part) and len(part["step"]) == len(hist)
            # memory is the capacity's rows (and one latest record), whatever the run's length
            row = row_bytes(part)
            assert MEMORY_CAPACITY * row <= hist.nbytes <= (MEMORY_CAPACITY + 1) * row
            assert hist.nbytes < HISTORY_BYTES_BOUND
            steps = part["step"]
            spacing = steps[1] - steps[0]
            assert steps[0] == 0 and (np.diff(steps[:-1]) == spacing).all()  # evenly spaced
            assert steps[-1] == LONG_STEPS  # and ending with the run's last record


def test_snapshots_are_consistent_and_cheap_while_training(long_run_read_while_training, capsys):
    run, seen = long_run_read_while_training
    assert not seen["errors"], seen["errors"][:5]
    assert seen["snapshots"] >= 1000 and seen["during"] >= 50
    assert max(seen["steps"]) == LONG_STEPS
    # cheap: a snapshot copies no recorded array, it hands out views of the history's storage
    a, b = run.snapshot(), run.snapshot()
    for name in a.nets:
        for col in a.nets[name].probes:
            x, y = a.nets[name].probes[col], b.nets[name].probes[col]
            assert np.shares_memory(x, y) and not x.flags.writeable
    with capsys.disabled():
        print(f"\n[snapshot] {seen['snapshots']} snapshots, mean "
              f"{1e6 * seen['seconds'] / seen['snapshots']:.1f} us each (measured, not asserted)")


# ---------------------------------------------------------------------------- control

def test_pause_resume_and_stop():
    run = Run(endless_config()).start()
    assert wait_until(lambda: run.status == "running" and run.snapshot().step > 5)
    run.pause()
    assert run.status == "paused"
    time.sleep(0.1)  # the step in flight ends
    held = run.snapshot().step
    time.sleep(0.3)
    assert run.snapshot().step == held
    assert run.snapshot().status == "paused"
    run.resume()
    assert run.status == "running"
    assert wait_until(lambda: run.snapshot().step > held + 5)
    run.stop("enough", wait=5.0)
    assert not run.alive
    assert wait_until(lambda: {v.status for v in run.snapshot().nets.values()} == {"stopped"})
    snap = run.snapshot()
    assert snap.status == "stopped" and snap.message == "enough"
    assert 0 < snap.step < 200_000
    assert wait_until(lambda: run.key not in hosted_keys())  # its nets are freed


def test_stop_while_paused_ends_the_threads():
    run = Run(endless_config()).start()
    assert wait_until(lambda: run.status == "running")
    run.pause()
    run.stop(wait=5.0)
    assert not run.alive and run.status == "stopped"
    assert wait_until(lambda: run.key not in hosted_keys())


def test_a_stopped_run_can_start_again_from_scratch():
    run = Run(toy_config(steps=60)).start()
    assert run.wait(30)
    first = run.snapshot().nets["plain"].evals
    run.start()
    assert run.wait(30)
    second = run.snapshot()
    assert second.status == "finished"
    assert_same_records(first, second.nets["plain"].evals)


def test_a_run_nobody_watches_pauses_after_the_idle_timeout_and_keeps_its_place():
    run = Run(endless_config(), idle_timeout=0.3).start()
    assert wait_until(lambda: run.status == "running")
    assert wait_until(lambda: run.status == "paused", timeout=5.0)
    assert run.snapshot().paused_by == "idle"
    held = run.snapshot().step
    assert held > 0 and run.key in hosted_keys()  # paused where it was, nets kept
    run.touch("someone")
    run.resume()
    assert wait_until(lambda: run.snapshot().step > held)


def test_a_failing_run_reports_failed_and_other_runs_go_on(monkeypatch):
    original = training.Trainer.evaluate

    def evaluate(self, step):
        if self.config.seed == 13 and step >= 20:
            raise RuntimeError("probe exploded")
        return original(self, step)

    monkeypatch.setattr(training.Trainer, "evaluate", evaluate)
    bad = Run(toy_config(seed=13, steps=5000, eval_every=10)).start()
    good = Run(toy_config(seed=14, steps=300, eval_every=10)).start()
    assert bad.wait(30) and good.wait(30)
    snap = bad.snapshot()
    assert snap.status == "failed"
    assert snap.message == "RuntimeError: probe exploded"
    assert {v.status for v in snap.nets.values()} == {"failed"}
    assert snap.step == 20
    other = good.snapshot()
    assert other.status == "finished" and other.step == 300
    with pytest.raises(RuntimeError, match="probe exploded"):
        train_to_end(toy_config(seed=13, steps=100, eval_every=10))


def test_a_run_whose_data_cannot_load_fails_with_a_message(monkeypatch):
    def broken(config):
        raise OSError("disk on fire")

    monkeypatch.setattr(training, "load_data", broken)
    run = Run(toy_config()).start()
    assert run.wait(10)
    snap = run.snapshot()
    assert snap.status == "failed" and snap.message == "OSError: disk on fire"
    assert snap.nets == {}


def test_a_batch_larger_than_the_data_is_refused_before_any_thread_starts():
    before = threading.active_count()
    with pytest.raises(ValueError, match="^batch_size:"):
        Run(toy_config(n_samples=100, batch_size=101))
    with pytest.raises(ValueError, match="^batch_size:"):
        training.prepare(toy_config(n_samples=100, batch_size=101))
    assert threading.active_count() == before


def test_wait_first_record_returns_once_the_nets_have_their_step_0_records(no_leaked_threads):
    run = Run(RunConfig(dataset="moons", steps=5000, width=8, depth=2, pace=200.0)).start()
    assert run.wait_first_record(5.0)
    snap = run.snapshot()
    assert set(snap.nets) == {"plain", "bn"}
    assert all(int(v.probes["step"][0]) == 0 and len(v.evals["step"]) >= 1
               for v in snap.nets.values())
    run.stop()
