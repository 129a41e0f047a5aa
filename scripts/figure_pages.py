"""Every chart each BN Lab page draws, built from real short runs: shared by the figure
benchmark (scripts/bench_figures.py) and the figure gallery (scripts/figure_gallery.py).

The runs use each page's default settings, shortened so they train in seconds. The builders
are taken from a namespace of figure modules (`FigureModules`), so the same catalogue builds
today's figures and an older version's (bench_figures.py loads those from git)."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bn_core.config import RunConfig  # noqa: E402
from bn_core.engine.training import train_to_end  # noqa: E402
from bn_core.presets import PRESETS, preset  # noqa: E402

MODULES = ("activations", "batches", "boundaries", "distributions", "figure1", "figure1_page",
           "gradients", "ics", "inside_bn", "shift", "style")


def current_modules() -> SimpleNamespace:
    """This checkout's figure modules, by short name."""
    import importlib

    return SimpleNamespace(**{m: importlib.import_module(f"bn_core.figures.{m}")
                              for m in MODULES})


def modules_from_git(commit: str) -> SimpleNamespace:
    """The figure modules as they were at `commit` (`git show`), imported as a private package
    (their `bn_core.figures.` imports pointed at it), so old and new builders run side by side."""
    import importlib
    import subprocess
    import tempfile

    package = f"old_figures_{commit[:10]}"
    if package not in sys.modules:
        root = Path(tempfile.mkdtemp(prefix="bnlab-figures-"))
        (root / package).mkdir()
        for name in ("__init__",) + MODULES:
            source = subprocess.run(["git", "-C", str(ROOT), "show",
                                     f"{commit}:bn_core/figures/{name}.py"],
                                    capture_output=True, text=True, check=True).stdout
            source = source.replace("bn_core.figures.", f"{package}.")
            (root / package / f"{name}.py").write_text(source)
        sys.path.insert(0, str(root))
    return SimpleNamespace(**{m: importlib.import_module(f"{package}.{m}") for m in MODULES})


# Each page's base config (see pages/*.py), shortened; pace 0 trains at full speed.
TOY = dict(pace=0.0)
CONFIGS = {
    "home": RunConfig(dataset="moons", n_samples=300, noise=0.2, depth=4, width=32,
                      activation="sigmoid", lr=0.5, batch_size=30, steps=600, probe_every=20,
                      eval_every=20, grid_resolution=50, **TOY),
    "figure1": PRESETS["figure1"].config.replace(steps=600, probe_every=25, eval_every=50),
    "shift": RunConfig(dataset="moons", shift_x=1.0, rotate_deg=30.0, n_samples=300, noise=0.15,
                       depth=2, width=16, activation="sigmoid", lr=0.5, batch_size=30,
                       steps=600, probe_every=20, eval_every=20, grid_resolution=60,
                       heldout_size=300, **TOY),
    "white": RunConfig(dataset="moons", far_offset=8.0, whitening="zca", n_samples=300,
                       noise=0.15, depth=2, width=16, activation="sigmoid", lr=0.5,
                       batch_size=30, steps=600, probe_every=20, eval_every=20,
                       grid_resolution=60, heldout_size=300, **TOY),
    "ics": RunConfig(dataset="mnist-subset", depth=4, width=100, activation="relu", lr=0.1,
                     batch_size=60, steps=600, probe_every=25, eval_every=50, heldout_size=1000,
                     grid_resolution=0),
    "gamma": RunConfig(dataset="circles", n_samples=400, noise=0.1, depth=3, width=32,
                       activation="sigmoid", affine="frozen", gamma_value=1.0, beta_value=0.0,
                       lr=0.5, batch_size=30, steps=600, probe_every=20, eval_every=20,
                       grid_resolution=40, heldout_size=500, **TOY),
    "shuffle": RunConfig(dataset="circles", n_samples=300, noise=0.15, depth=2, width=32,
                         activation="sigmoid", lr=1.0, batch_size=10, steps=600, shuffle=0.0,
                         probe_every=20, eval_every=20, grid_resolution=50, heldout_size=300,
                         **TOY),
    "gradients": RunConfig(dataset="mnist-subset", depth=10, width=64, activation="sigmoid",
                           init_scale=1.0, lr=0.1, batch_size=60, steps=400, probe_every=20,
                           eval_every=50, heldout_size=1000, grid_resolution=0),
    "santurkar": RunConfig(dataset="mnist-subset", nets=("plain", "bn", "noisy_bn"), depth=3,
                           width=100, activation="sigmoid", batch_size=60, lr=0.1, steps=400,
                           probe_every=25, eval_every=50, ics_every=50, heldout_size=1000,
                           grid_resolution=0),
    "deep_linear": preset("deep-linear-ics").config.replace(lr=0.003, steps=200, ics_every=20,
                                                            probe_every=10, eval_every=20),
}


def train_runs(names=None) -> dict:
    """The short runs, trained in the foreground (a few seconds each)."""
    runs = {name: train_to_end(cfg) for name, cfg in CONFIGS.items()
            if names is None or name in names}
    if "white" in runs:
        runs["white_pair"] = [train_to_end(CONFIGS["white"].replace(whitening="none")),
                              runs["white"]]
    return runs


@dataclass(frozen=True)
class Chart:
    """One chart of a page: its name and how to build it from the runs."""

    page: str
    name: str
    build: Callable[[SimpleNamespace, dict], object]


def _gamma_accuracy(f, snap):
    builder = getattr(f.activations, "heldout_accuracy_chart", None)
    if builder is not None:  # the builder that replaced the page's own go.Figure code
        return builder(snap)
    fig = f.figure1.accuracy_figure(snap.nets, "heldout_acc", "Held-out accuracy of both nets",
                                    320)
    return fig.update_xaxes(range=f.activations.step_range(snap))


def _inside_inputs():
    """Page 7's default inputs: the seed-0 batch (N=4, D=3), population N(3, 2^2), m = 4."""
    from bn_core.lessons import inside_bn as lesson
    from bn_core.nets.batchnorm import DEFAULT_EPS, batchnorm_forward

    ex = lesson.example_batch(4, 3, 0)
    y, cache = batchnorm_forward(ex.x, ex.gamma, ex.beta, DEFAULT_EPS)
    return SimpleNamespace(
        x=ex.x, xhat=cache.xhat, y=y, names=["x1", "x2", "x3"],
        check=lesson.backward_check(ex.x, ex.gamma, ex.beta, ex.dy, DEFAULT_EPS),
        rs=lesson.running_statistics(3.0, 2.0, 4, 0.1, 300, 0, DEFAULT_EPS),
        noise=lesson.batch_noise(3.0, 2.0, seed=0, eps=DEFAULT_EPS),
        tensor=lesson.example_tensor(2, 3, 4, 4, 0))


def _label_strip(snap):
    from bn_core.lessons.data_order import batches_per_epoch, label_strip

    cfg, data = snap.config, snap.data
    counts = label_strip(data.y_train, data.n_classes, cfg.batch_size, cfg.shuffle, cfg.seed,
                         min(60, cfg.steps))
    return counts, cfg.batch_size, batches_per_epoch(len(data.y_train), cfg.batch_size)


CHARTS: list[Chart] = [
    Chart("home", "boundary", lambda f, r: f.boundaries.boundary_figure(
        r["home"], show_test=False, height=380)),
    Chart("home", "accuracy", lambda f, r: f.figure1.accuracy_figure(
        r["home"].nets, "train_acc", "Training accuracy of both nets", 300)),
    Chart("figure1", "accuracy", lambda f, r: f.figure1_page.heldout_accuracy_chart(r["figure1"])),
    Chart("figure1", "bands", lambda f, r: f.figure1_page.percentile_bands_chart(
        r["figure1"], 2, False)),
    Chart("shift", "regions", lambda f, r: f.shift.decision_regions_chart(r["shift"])),
    Chart("shift", "train_test", lambda f, r: f.shift.train_test_accuracy_chart(r["shift"])),
    Chart("shift", "sweep", lambda f, r: f.shift.shift_sweep_chart(r["shift"])),
    Chart("whitening", "initial", lambda f, r: f.shift.initial_boundaries_chart(r["white_pair"])),
    Chart("whitening", "accuracy", lambda f, r: f.shift.whitening_accuracy_chart(
        r["white_pair"], 0.9)),
    Chart("whitening", "now", lambda f, r: f.shift.current_boundaries_chart(r["white_pair"])),
    Chart("ics", "heatmaps", lambda f, r: f.distributions.input_histogram_heatmaps(r["ics"], 3)),
    Chart("ics", "moments", lambda f, r: f.distributions.moment_drift_figure(
        r["ics"], [0, 1, 2, 3])),
    Chart("ics", "bn_input", lambda f, r: f.distributions.bn_input_figure(
        r["ics"], [0, 1, 2, 3])),
    Chart("gamma", "curve", lambda f, r: f.activations.activation_input_figure(r["gamma"], 2)),
    Chart("gamma", "zones", lambda f, r: f.activations.zone_fraction_figure(r["gamma"], 2)),
    Chart("gamma", "accuracy", lambda f, r: _gamma_accuracy(f, r["gamma"])),
    Chart("gamma", "boundary", lambda f, r: f.boundaries.boundary_figure(
        r["gamma"], show_test=False, height=380)),
    Chart("gamma", "affine", lambda f, r: f.activations.affine_figure(r["gamma"], 2)),
    Chart("shuffle", "label_mix", lambda f, r: f.batches.label_mix_figure(
        *_label_strip(r["shuffle"]))),
    Chart("shuffle", "accuracy", lambda f, r: f.batches.shuffle_accuracy_chart(r["shuffle"])),
    Chart("shuffle", "regions", lambda f, r: f.shift.decision_regions_chart(
        r["shuffle"], False, 440)),
    Chart("gradients", "profile", lambda f, r: f.gradients.gradient_profile_figure(
        r["gradients"])),
    Chart("gradients", "curves", lambda f, r: f.gradients.training_curves_figure(
        r["gradients"])),
    Chart("gradients", "heatmap", lambda f, r: f.gradients.gradient_heatmap_figure(
        r["gradients"])),
    Chart("gradients", "ratio", lambda f, r: f.gradients.vanishing_ratio_figure(r["gradients"])),
    Chart("inside", "algorithm1", lambda f, r: f.inside_bn.algorithm1_figure(
        r["inside"].x, r["inside"].xhat, r["inside"].y, r["inside"].names)),
    Chart("inside", "gradcheck", lambda f, r: f.inside_bn.gradient_check_figure(
        r["inside"].check)),
    Chart("inside", "running", lambda f, r: f.inside_bn.running_statistics_figure(
        r["inside"].rs)),
    Chart("inside", "train_eval", lambda f, r: f.inside_bn.train_eval_figure(r["inside"].rs)),
    Chart("inside", "noise", lambda f, r: f.inside_bn.batch_noise_figure(r["inside"].noise)),
    Chart("inside", "slab", lambda f, r: f.inside_bn.channel_slab_figure(r["inside"].tensor, 1)),
    Chart("santurkar", "by_layer", lambda f, r: f.ics.ics_by_layer_figure(
        r["santurkar"].nets, "cos")),
    Chart("santurkar", "over_time", lambda f, r: f.ics.ics_over_time_figure(
        r["santurkar"].nets, "cos")),
    Chart("santurkar", "loss", lambda f, r: f.ics.training_loss_figure(
        r["santurkar"].nets, r["santurkar"].config.is_regression)),
    Chart("santurkar", "accuracy", lambda f, r: f.figure1.accuracy_figure(
        r["santurkar"].nets, "train_acc", "Training accuracy of each net (eval mode)")),
    Chart("santurkar", "landscape", lambda f, r: f.ics.landscape_figure(r["santurkar"].nets)),
    Chart("deep_linear", "by_layer", lambda f, r: f.ics.ics_by_layer_figure(
        r["deep_linear"].nets, "cos")),
    Chart("deep_linear", "over_time", lambda f, r: f.ics.ics_over_time_figure(
        r["deep_linear"].nets, "cos")),
    Chart("deep_linear", "distance", lambda f, r: f.ics.ics_by_layer_figure(
        r["deep_linear"].nets, "dist")),
    Chart("deep_linear", "loss", lambda f, r: f.ics.training_loss_figure(
        r["deep_linear"].nets, r["deep_linear"].config.is_regression)),
    Chart("deep_linear", "landscape", lambda f, r: f.ics.landscape_figure(
        r["deep_linear"].nets)),
]

# The page each group of charts belongs to (page 2 shows one part at a time, page 8 one setup).
PAGE_OF = {"home": "/", "figure1": "1 Figure 1 live", "shift": "2 Covariate shift (shift)",
           "whitening": "2 Covariate shift (whitening)", "ics": "3 Internal covariate shift",
           "gamma": "4 Gamma and beta", "shuffle": "5 Shuffling",
           "gradients": "6 Gradients and learning rates", "inside": "7 Inside the BN layer",
           "santurkar": "8 Does BN reduce ICS (MNIST)",
           "deep_linear": "8 Does BN reduce ICS (deep linear)"}


def all_runs() -> dict:
    """Every run and input the catalogue needs."""
    runs = train_runs()
    runs["inside"] = _inside_inputs()
    return runs
