"""Tests for bn_core/figures/activations.py and gradients.py: the pure helpers on known values,
and every figure builder (valid Plotly data without a template, checked once) on a real small
run and on a hand-made snapshot with a diverged net."""
from __future__ import annotations

import math

import numpy as np
import pytest

from bn_core.engine import training
from bn_core.config import RunConfig
from bn_core.figures import activations as act
from bn_core.figures import gradients as grad
from bn_core.nets.probes import histogram_edges
from bn_core.engine.training import NetView, RunSnapshot, train_to_end
from figuretest import annotations, checked, shapes, title, trace, values


def engine_records_gradients() -> bool:
    """Whether the trainer fills probes["grad_norm"] (it takes gradients with autograd.grad,
    so weights' .grad stays None unless the trainer records them itself)."""
    cfg = RunConfig(dataset="moons", n_samples=100, depth=1, width=4, batch_size=20, steps=2,
                    probe_every=1, eval_every=2, grid_resolution=0, heldout_size=20)
    g = train_to_end(cfg).nets["plain"].probes["grad_norm"]
    return bool(np.isfinite(g[1:]).all())


def ys(spec, i=0, axis="y"):
    """Trace i's array from the figure's wire JSON (typed arrays decoded)."""
    return values(spec["data"][i], axis)


def points(spec) -> int:
    return sum(ys(spec, i, "z" if t["type"] == "heatmap" else "y").size
               for i, t in enumerate(spec["data"]) if t.get("y") is not None)


# ---------------------------------------------------------------------------- pure helpers

def test_activation_curves_on_known_points():
    x = np.array([-2.0, 0.0, 3.0])
    assert np.allclose(act.activation_curve("sigmoid", x), 1 / (1 + np.exp(-x)))
    assert np.allclose(act.activation_curve("relu", x), [0, 0, 3])
    assert np.allclose(act.activation_curve("tanh", x), np.tanh(x))
    assert np.allclose(act.activation_curve("linear", x), x)
    with pytest.raises(ValueError, match="activation"):
        act.activation_curve("swish", x)


def test_histogram_quantiles_match_numpy_on_uniform_and_normal_data():
    rng = np.random.default_rng(0)
    edges = histogram_edges("sigmoid")
    for sample in (rng.uniform(-3, 3, 50_000), rng.standard_normal(50_000)):
        counts, _ = np.histogram(sample, edges)
        est = act.histogram_quantiles(counts, edges, (2.5, 50, 97.5))
        assert np.allclose(est, np.percentile(sample, (2.5, 50, 97.5)), atol=0.06)
    assert np.isnan(act.histogram_quantiles(np.zeros(60), edges, (50,))).all()


def test_output_range_of_a_unit_normal_input_is_the_sigmoids_middle():
    rng = np.random.default_rng(1)
    edges = histogram_edges("sigmoid")
    counts, _ = np.histogram(rng.standard_normal(100_000), edges)
    lo, hi = act.output_range(counts, edges, "sigmoid")
    assert lo == pytest.approx(1 / (1 + math.exp(1.96)), abs=0.01)   # 0.12
    assert hi == pytest.approx(1 / (1 + math.exp(-1.96)), abs=0.01)  # 0.88


def test_zone_names_follow_the_activation():
    assert set(act.zone_names("sigmoid")) == {"linear_zone", "saturated"}
    assert set(act.zone_names("relu")) == {"zero_outputs", "dead_units"}
    assert act.zone_names("linear") == {}
    assert "|input| < 1" in act.zone_rule("sigmoid")


def test_first_disagreement():
    steps = np.array([0, 10, 20, 30])
    assert act.first_disagreement(steps, [0.5, 0.6, 0.7, 0.8], [0.5, 0.62, 0.6, 0.8], 0.05) == 20
    assert act.first_disagreement(steps, [0.5, 0.6], [0.5, 0.6, 0.9], 0.05) is None
    assert act.first_disagreement(steps, [0.5, np.nan], [0.5, 0.5], 0.05) == 10


def test_gradient_helpers():
    assert grad.layer_labels(4) == ["layer 1", "layer 2", "layer 3", "output"]
    g = np.array([[np.nan] * 3, [1e-6, 1e-3, 1.0], [1.0, 1.0, 1.0]])
    assert grad.finite_rows(g).tolist() == [1, 2]
    assert grad.finite_rows(np.zeros((0, 3))).tolist() == []
    assert grad.orders_of_magnitude(g[1]) == pytest.approx(6.0)
    assert grad.orders_of_magnitude(g[2]) == pytest.approx(0.0)
    assert grad.orders_of_magnitude([0.0, 1.0]) != grad.orders_of_magnitude([0.0, 1.0])  # nan
    wide = grad.log_ticks([1e-6, 1.0])  # seven decades: powers of ten only
    assert wide["tickvals"] == pytest.approx([10.0 ** e for e in range(-6, 1)])
    assert wide["ticktext"][:3] == ["10\u207b\u2076", "10\u207b\u2075", "10\u207b\u2074"]
    assert grad.log_ticks([np.nan])["ticktext"][:4] == ["1", "2", "5", "10"]  # no data yet
    narrow = grad.log_ticks([0.2, 2.3])
    assert narrow["ticktext"] == ["0.1", "0.2", "0.5", "1", "2", "5"]


# ---------------------------------------------------------------------------- a hand-made snapshot

def fake_view(name, status="finished", diverged_at=None, grads=None, n=4, layers=2):
    steps = np.arange(n) * 10
    edges = histogram_edges("sigmoid")
    hist = np.zeros((layers, 60), np.int32)
    hist[:, 28:32] = 5
    g = grads if grads is not None else np.vstack([np.full(layers + 1, np.nan),
                                                  np.tile([1e-5, 1e-3, 1e-1][:layers + 1],
                                                          (n - 1, 1))])
    probes = {"step": steps, "loss": np.linspace(2.3, 0.5, n), "grad_norm": g,
              "linear_zone": np.full((n, layers), 0.68), "saturated": np.zeros((n, layers)),
              "zero_outputs": np.full((n, layers), np.nan),
              "dead_units": np.full((n, layers), np.nan)}
    latest = {"hist": hist, "step": int(steps[-1])}
    if name == "bn":
        probes.update(gamma_mean_abs=np.ones((n, layers)), beta_mean=np.zeros((n, layers)),
                      bn_batch_var=np.full((n, layers), 4.0),
                      bn_batch_mean=np.full((n, layers), 0.5))
        latest["bn"] = [{"gamma": np.ones(8), "beta": np.zeros(8), "batch_var": np.full(8, 4.0),
                         "batch_mean": np.full(8, 0.5)} for _ in range(layers)]
    evals = {"step": steps, "heldout_acc": np.linspace(0.1, 0.9, n)}
    return NetView(name=name, label=name, status=status, step=int(steps[-1]),
                   diverged_at=diverged_at, probes=probes, evals=evals, ics={}, latest=latest,
                   initial_grid=None), edges


def fake_snapshot(**config):
    plain, edges = fake_view("plain", status="diverged", diverged_at=25,
                             grads=np.full((4, 3), np.nan))
    bn, _ = fake_view("bn")
    cfg = RunConfig(dataset="moons", depth=2, width=8, grid_resolution=0, **config)
    return RunSnapshot(key=cfg.key(), config=cfg, status="finished", message="", step=30,
                       total_steps=30, steps_per_sec=0.0, elapsed=1.0,
                       nets={"plain": plain, "bn": bn}, edges=edges, bn_edges=edges,
                       viewport=None, data=None, viewers=1)


def test_figures_mark_a_diverged_net_and_skip_its_missing_gradients():
    snap = fake_snapshot()
    prof = checked(grad.gradient_profile_figure(snap))
    assert [t["name"] for t in prof["data"]] == ["BN at step 10", "BN at step 30"]
    assert np.allclose(ys(prof, 1), [1e-5, 1e-3, 1e-1])
    heat = checked(grad.gradient_heatmap_figure(snap))
    assert any(s["x0"] == 25 for s in shapes(heat))  # the plain net's divergence step
    assert "diverged at step 25" in annotations(heat)[0].replace("<br>", " ")
    assert any("no gradients recorded" in a for a in annotations(heat))
    curves = checked(grad.training_curves_figure(snap))
    assert any("diverged at step 25" in (t.get("name") or "") for t in curves["data"])
    assert any(s["x0"] == 25 for s in shapes(curves))
    ratio = checked(grad.vanishing_ratio_figure(snap))
    assert np.allclose(ys(ratio, 0), 1e-4)
    assert "diverged at step 25" in " ".join(annotations(ratio))
    assert grad.latest_profile(snap.nets["plain"]) is None
    assert grad.latest_profile(snap.nets["bn"])[0] == 30


def test_affine_figure_shows_parameters_or_the_undo_values():
    spec = checked(act.affine_figure(fake_snapshot(affine="frozen"), 1))
    assert np.allclose(ys(spec, 0), 1.0) and np.allclose(ys(spec, 1), 0.0)
    assert "frozen at set values" in title(spec)  # the mode's label, not its key
    undo = checked(act.affine_figure(fake_snapshot(affine="undo"), 0))
    assert np.allclose(ys(undo, 0), math.sqrt(4.0 + act.EPS))  # sqrt(var_B + eps)
    assert np.allclose(ys(undo, 1), 0.5)                      # mu_B
    scatter = undo["data"][-1]
    assert np.allclose(values(scatter, "x"), 0.5) and scatter["mode"] == "markers"
    assert scatter["xaxis"] == "x3"


# ---------------------------------------------------------------------------- a real run

@pytest.fixture(scope="module")
def small_runs():
    """A tiny plain/BN sigmoid run and a ReLU one (module-scoped: trained once)."""
    mp = pytest.MonkeyPatch()
    if not engine_records_gradients():
        original = training.SGD.step

        def step(self, grads):
            for p, g in zip(self.params, grads):
                p.grad = g
            original(self, grads)

        mp.setattr(training.SGD, "step", step)
    base = dict(dataset="circles", n_samples=200, noise=0.1, depth=3, width=16, batch_size=20,
                lr=0.5, steps=60, probe_every=10, eval_every=10, grid_resolution=0,
                heldout_size=100, affine="frozen")
    runs = {"sigmoid": train_to_end(RunConfig(activation="sigmoid", **base)),
            "relu": train_to_end(RunConfig(activation="relu", **base))}
    mp.undo()
    return runs


def test_every_builder_returns_valid_data(small_runs):
    snap = small_runs["sigmoid"]
    builders = [lambda s: act.activation_input_figure(s, 2),
                lambda s: act.zone_fraction_figure(s, 2), lambda s: act.affine_figure(s, 2),
                act.heldout_accuracy_chart,
                grad.gradient_profile_figure, grad.gradient_heatmap_figure,
                grad.vanishing_ratio_figure, grad.training_curves_figure]
    for build in builders:
        spec = checked(build(snap))
        assert title(spec) and points(spec) > 0


def test_builders_on_an_unstarted_run(small_runs):
    empty = small_runs["sigmoid"].__class__(**{**small_runs["sigmoid"].__dict__, "nets": {},
                                               "edges": None})
    for build in (lambda s: act.activation_input_figure(s, 0),
                  lambda s: act.zone_fraction_figure(s, 0), lambda s: act.affine_figure(s, 0),
                  act.heldout_accuracy_chart, grad.gradient_profile_figure,
                  grad.gradient_heatmap_figure, grad.vanishing_ratio_figure,
                  grad.training_curves_figure):
        assert title(checked(build(empty)))


def test_real_run_values(small_runs):
    snap = small_runs["sigmoid"]
    fig = checked(act.activation_input_figure(snap, 1))
    bars = [t for t in fig["data"] if t["type"] == "bar"]
    for bar, name in zip(bars, ("plain", "bn")):  # shares of the layer's inputs: sum to 100%
        hist = snap.nets[name].latest["hist"][1]
        np.testing.assert_allclose(values(bar), hist / hist.sum() * 100, rtol=1e-5)
    curve = trace(fig, name="sigmoid(input)", xaxis="x")
    np.testing.assert_allclose(values(curve), 1 / (1 + np.exp(-values(curve, "x"))), atol=1e-6)
    zones = checked(act.zone_fraction_figure(snap, 1))
    bn_linear = values(trace(zones, name="BN: near-linear"))
    np.testing.assert_allclose(bn_linear, snap.nets["bn"].probes["linear_zone"][:, 1], rtol=1e-6)
    assert np.all((bn_linear > 0.4) & (bn_linear < 0.9))  # gamma = 1, beta = 0: the middle
    prof = checked(grad.gradient_profile_figure(snap))
    assert all(np.all(ys(prof, i) > 0) for i in range(len(prof["data"])))
    g = snap.nets["plain"].probes["grad_norm"]
    np.testing.assert_allclose(values(trace(prof, name=f"Plain at step {snap.nets['plain'].probes['step'][-1]:,}")),
                               g[-1], rtol=1e-6)
    heat = checked(grad.gradient_heatmap_figure(snap))
    z = values([t for t in heat["data"] if t["type"] == "heatmap"][1], "z")
    with np.errstate(divide="ignore", invalid="ignore"):
        np.testing.assert_allclose(z[:, 1:], np.log10(snap.nets["bn"].probes["grad_norm"][1:]).T,
                                   rtol=1e-5)
    assert heat["layout"]["xaxis"]["tickformat"] == ",d"
    curves = checked(grad.training_curves_figure(snap))
    bn_loss, bn_acc = [t for t in curves["data"] if t.get("legendgroup") == "bn"][:2]
    np.testing.assert_allclose(values(bn_loss), snap.nets["bn"].probes["loss"], rtol=1e-6)
    np.testing.assert_allclose(values(bn_acc), snap.nets["bn"].evals["heldout_acc"], rtol=1e-6)
    acc = checked(act.heldout_accuracy_chart(snap))
    np.testing.assert_allclose(values(trace(acc, name="Plain")),
                               snap.nets["plain"].evals["heldout_acc"], rtol=1e-6)
    assert acc["layout"]["xaxis"]["range"] == [0, snap.total_steps]
    relu = small_runs["relu"]
    zero = checked(act.zone_fraction_figure(relu, 1))
    bn_zero = values(trace(zero, name="BN: output 0 (input <= 0)"))
    assert np.all(np.abs(bn_zero - 0.5) < 0.15)  # beta frozen at 0: about half are 0


def test_log_axes_are_labelled_in_full(small_runs):
    """No tick of a log axis reads as a bare mantissa ("5" for 0.5)."""
    snap = small_runs["sigmoid"]
    for build in (grad.gradient_profile_figure, grad.vanishing_ratio_figure,
                  grad.training_curves_figure):
        layout = checked(build(snap))["layout"]
        logs = [a for k, a in layout.items() if k.startswith("yaxis") and a.get("type") == "log"]
        assert logs
        for ax in logs:
            for value, text in zip(ax["tickvals"], ax["ticktext"]):
                if "\u00d7" not in text and "10" not in text:
                    assert float(text.replace(",", "")) == pytest.approx(value)
