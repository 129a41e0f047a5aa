"""Tests of bn_core/figures/ics.py on a real short run with ICS measurements, and of every
snapshot builder on partly filled snapshots (one net with no records yet, the other with one):
valid Plotly data without a template, carrying the run's own numbers."""
import numpy as np
import pytest

from bn_core.config import RunConfig
from bn_core.engine.training import NetView, train_to_end
from bn_core.figures import (activations, batches, boundaries, distributions, figure1,
                             figure1_page, gradients, ics, shift)
from bn_core.lessons.santurkar import LANDSCAPE_PROBES
from figuretest import checked, trace, values

SMALL = dict(dataset="moons", n_samples=120, depth=3, width=8, batch_size=20, steps=40,
             probe_every=10, eval_every=10, ics_every=10, grid_resolution=12, heldout_size=60)


@pytest.fixture(scope="module")
def run():
    return train_to_end(RunConfig(nets=("plain", "bn", "noisy_bn"), **SMALL))


def test_ics_builders_carry_the_measurements(run):
    by_layer = checked(ics.ics_by_layer_figure(run.nets, "cos"))
    cos = run.nets["bn"].ics["cos"]
    np.testing.assert_allclose(values(trace(by_layer, name="BN")), np.nanmean(cos, axis=0),
                               rtol=1e-5)
    low, high = by_layer["layout"]["yaxis"]["range"]
    shown = np.concatenate([values(t) for t in by_layer["data"]])
    assert low < shown.min() and high > 1.0 and low >= -1.02  # the axis holds every value
    dist = checked(ics.ics_over_time_figure(run.nets, "dist"))
    np.testing.assert_allclose(values(trace(dist, name="Noisy BN")),
                               np.nanmean(run.nets["noisy_bn"].ics["dist"][:, 1:], axis=1),
                               rtol=1e-5)
    assert dist["layout"]["yaxis"]["type"] == "log" and dist["layout"]["yaxis"]["ticktext"]
    loss = checked(ics.training_loss_figure(run.nets, False))
    np.testing.assert_allclose(values(trace(loss, name="Plain")), run.nets["plain"].probes["loss"],
                               rtol=1e-6)
    scape = checked(ics.landscape_figure(run.nets))
    for k, key in enumerate(LANDSCAPE_PROBES):
        bn = [t for t in scape["data"] if t["name"] == "BN"][k]
        np.testing.assert_allclose(values(bn), run.nets["bn"].ics[key], rtol=1e-5)
        np.testing.assert_array_equal(values(bn, "x"), run.nets["bn"].ics["step"])


def _partial(view: NetView, n: int) -> NetView:
    """The view as it was with only its first n records (and no latest vectors if n == 0)."""
    cut = {k: v[:n] for k, v in view.probes.items()}
    return NetView(**{**view.__dict__, "probes": cut,
                      "evals": {k: v[:n] for k, v in view.evals.items()},
                      "ics": {k: v[:n] for k, v in view.ics.items()},
                      "latest": view.latest if n else {}, "step": int(cut["step"][-1]) if n else 0})


def test_every_snapshot_builder_on_partly_filled_snapshots(run):
    for n_plain, n_bn in ((0, 1), (1, 0), (0, 0), (1, 2)):
        nets = {"plain": _partial(run.nets["plain"], n_plain),
                "bn": _partial(run.nets["bn"], n_bn)}
        snap = run.__class__(**{**run.__dict__, "nets": nets})
        figures = [
            activations.activation_input_figure(snap, 1), activations.zone_fraction_figure(snap, 1),
            activations.affine_figure(snap, 1), activations.heldout_accuracy_chart(snap),
            batches.shuffle_accuracy_chart(snap), boundaries.boundary_figure(snap),
            distributions.input_histogram_heatmaps(snap, 1),
            distributions.moment_drift_figure(snap, [0, 2]),
            distributions.bn_input_figure(snap, [0, 1]),
            figure1.accuracy_figure(snap.nets), figure1.figure1(snap.nets, 2, "sigmoid",
                                                                (15, 50, 85), 0),
            figure1_page.heldout_accuracy_chart(snap),
            figure1_page.percentile_bands_chart(snap, 2, False),
            gradients.gradient_profile_figure(snap), gradients.gradient_heatmap_figure(snap),
            gradients.vanishing_ratio_figure(snap), gradients.training_curves_figure(snap),
            ics.ics_by_layer_figure(nets), ics.ics_over_time_figure(nets, "dist"),
            ics.training_loss_figure(nets, False), ics.landscape_figure(nets),
            shift.decision_regions_chart(snap), shift.train_test_accuracy_chart(snap),
            shift.shift_sweep_chart(snap), shift.initial_boundaries_chart([snap, snap]),
            shift.whitening_accuracy_chart([snap], 0.8), shift.current_boundaries_chart([snap])]
        for fig in figures:
            spec = checked(fig)
            assert spec["layout"]["title"]["text"]


def test_figure1_for_the_command_line_carries_both_panels(run):
    spec = checked(figure1.figure1(run.nets, 2, "sigmoid", (15, 50, 85), 0))
    acc = [t for t in spec["data"] if t.get("xaxis") == "x"]
    np.testing.assert_allclose(values(acc[1]), run.nets["bn"].evals["heldout_acc"], rtol=1e-6)
    median = [t for t in spec["data"] if t.get("xaxis") == "x3" and t["line"]["width"] == 3][0]
    np.testing.assert_allclose(values(median), run.nets["bn"].probes["unit_pct"][:, 2, 1],
                               rtol=1e-6)
    assert spec["layout"]["width"] == 1400
