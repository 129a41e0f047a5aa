"""Named setups for every experiment in experiments.md, as RunConfigs.

Where a paper does not state a value (optimiser, learning rate, init), the choice here is BN
Lab's own and says so in `notes`.
"""
from __future__ import annotations

from dataclasses import dataclass

from bn_core.config import RunConfig


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    teaches: str          # teaching points, e.g. "T4"
    config: RunConfig
    notes: str = ""


FIGURE1_NOTES = ("BN paper section 4.1: 3 hidden layers of 100 sigmoid units, batch 60, 50,000 "
                 "steps, BN before every sigmoid. Not stated in the paper, chosen by BN Lab: plain "
                 "SGD, learning rate 0.5, no momentum, W ~ N(0, 1/fan_in), biases 0; the bundled "
                 "5,000-digit MNIST subset (4,000 train / 1,000 held out), grey-level pixels.")

PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("figure1", "BN paper, Figure 1 (MNIST)", "T3, T4",
           RunConfig(dataset="mnist-subset", depth=3, width=100, activation="sigmoid",
                     batch_size=60, lr=0.5, steps=50_000, probe_every=100, eval_every=100,
                     heldout_size=1000),
           FIGURE1_NOTES),
    Preset("lr-x1", "Learning rate x1 (BN-Baseline analogue)", "T9",
           RunConfig(dataset="mnist-subset", activation="relu", depth=10, width=100,
                     init="he", lr=0.1, lr_multiplier=1.0, steps=2000,
                     probe_every=50, eval_every=100),
           "MNIST subset, 10 x 100 ReLU, He's init N(0, 2/fan_in); base learning rate 0.1 "
           "(BN Lab's choice). Measured (check-claims T9, seeds 0-2): at x1 both nets reach "
           "94-96% held-out; at x5 the plain net fails (it diverged at step 682 and 1,706, or "
           "never left chance) while the BN net reaches 94-96%; at x30 the plain net diverges "
           "within 4 steps while the BN net reaches 95-96%. With 6 layers and He's init the "
           "plain net survived x5 on 1-2 of 3 seeds (base 0.05 and 0.1); at base 0.15 the BN "
           "net failed at x30."),
    Preset("lr-x5", "Learning rate x5 (BN-x5 analogue)", "T9",
           RunConfig(dataset="mnist-subset", activation="relu", depth=10, width=100,
                     init="he", lr=0.1, lr_multiplier=5.0, steps=2000,
                     probe_every=50, eval_every=100)),
    Preset("lr-x30", "Learning rate x30 (BN-x30 analogue)", "T9",
           RunConfig(dataset="mnist-subset", activation="relu", depth=10, width=100,
                     init="he", lr=0.1, lr_multiplier=30.0, steps=2000,
                     probe_every=50, eval_every=100),
           "At x30 the plain net's updates blow its activations up; BN's scale invariance "
           "keeps its effective step in check."),
    Preset("deep-sigmoid", "A deep sigmoid net (BN-x5-Sigmoid analogue)", "T5, T9",
           RunConfig(dataset="mnist-subset", depth=10, width=64, activation="sigmoid", lr=0.5,
                     steps=3000, probe_every=50, eval_every=100),
           "10 sigmoid layers: gradients vanish below the top layers without BN."),
    Preset("sorted-batches", "Batches sorted by class", "T8",
           RunConfig(dataset="circles", n_samples=300, noise=0.15, depth=2, width=32,
                     activation="sigmoid", lr=1.0, batch_size=10, steps=2000, shuffle=0.0,
                     probe_every=20, eval_every=20),
           "Two rings, batches of 10 in class order: every batch holds one class. (On the "
           "blobs the plain net reached 100% even sorted: the blobs are too easy to show T8.)"),
    Preset("shuffled-batches", "Fully shuffled batches", "T8",
           RunConfig(dataset="circles", n_samples=300, noise=0.15, depth=2, width=32,
                     activation="sigmoid", lr=1.0, batch_size=10, steps=2000, shuffle=1.0,
                     probe_every=20, eval_every=20)),
    Preset("noisy-bn", "Noisy BN (Santurkar et al. 2018)", "T13",
           RunConfig(dataset="mnist-subset", nets=("plain", "bn", "noisy_bn", "noisy_plain"),
                     lr=0.1, steps=3000, probe_every=50, eval_every=100, ics_every=100),
           "Noise after each BN layer: per layer and step mu_t ~ U(-0.5, 0.5), "
           "sigma_t ~ U(1, 1.25); per element m ~ U(mu_t +- 0.1), s ~ N(sigma_t, 0.1)."),
    Preset("placement-before", "BN before the nonlinearity", "T6",
           RunConfig(dataset="moons", activation="relu", placement="before", steps=1500,
                     lr=0.1)),
    Preset("placement-after", "BN after the nonlinearity", "T6",
           RunConfig(dataset="moons", activation="relu", placement="after", steps=1500,
                     lr=0.1)),
    Preset("frozen-affine", "gamma = 1, beta = 0 frozen", "T7",
           RunConfig(dataset="mnist-subset", affine="frozen", gamma_value=1.0, beta_value=0.0,
                     steps=3000, probe_every=50, eval_every=100)),
    Preset("deep-linear-ics", "ICS in a 25-layer deep linear network", "T13",
           RunConfig(dataset="deep-linear", nets=("plain", "bn", "noisy_bn"), depth=24,
                     width=10, activation="linear", n_samples=1000, batch_size=1000,
                     lr=3e-3, steps=600, probe_every=20, eval_every=20, ics_every=20,
                     grid_resolution=0),
           "Santurkar's setup: min ||W_1..W_25 x - A x||^2, A random 10x10, full-batch GD; "
           "learning rate 3e-3 and 600 steps are BN Lab's choice (at 1e-3 the nets barely "
           "separate in 400 steps)."),
    Preset("covariate-shift", "Covariate shift on 2-D data", "T1",
           RunConfig(dataset="moons", shift_x=1.0, rotate_deg=30.0, steps=1500, lr=0.5)),
    Preset("whitening-off", "Far from the origin, not whitened", "T2",
           RunConfig(dataset="blobs", far_offset=8.0, whitening="none", steps=1500, lr=0.1)),
    Preset("whitening-on", "Far from the origin, whitened", "T2",
           RunConfig(dataset="blobs", far_offset=8.0, whitening="zca", steps=1500, lr=0.1)),
    Preset("which-part-figure1", "Which part of BN does the work? (Figure 1 net)", "T4, T7",
           RunConfig(dataset="mnist-subset", nets=("plain", "norm_only", "affine_only", "bn"),
                     depth=3, width=100, activation="sigmoid", batch_size=60, lr=0.5,
                     steps=3000, probe_every=50, eval_every=50, heldout_size=1000),
           "The Figure 1 net (BN Lab's choices as in the figure1 preset) with four twins: plain, "
           "normalise only (gamma 1, beta 0 fixed), scale and shift only (learnable per-unit "
           "gamma and beta, no normalisation), BN. 3,000 steps."),
    Preset("which-part-deep-sigmoid", "Which part of BN does the work? (deep sigmoid net)",
           "T5, T7",
           RunConfig(dataset="mnist-subset", nets=("plain", "norm_only", "affine_only", "bn"),
                     depth=10, width=64, activation="sigmoid", batch_size=60, lr=0.5,
                     steps=3000, probe_every=50, eval_every=50, heldout_size=1000),
           "10 sigmoid layers of 64 units (the deep-sigmoid preset's net) with the same four "
           "twins."),
    Preset("small-batches", "BN, LayerNorm and GroupNorm at batch 32 (the sweep's reference)",
           "T11",
           RunConfig(dataset="mnist-subset", nets=("bn", "layernorm", "groupnorm"), depth=3,
                     width=100, activation="relu", init="he", groups=4,
                     batch_size=32, lr=0.1, steps=250, probe_every=25, eval_every=25,
                     heldout_size=1000),
           "BN Lab's choices: 3x100 ReLU, He init, SGD lr 0.1 at batch 32, scaled linearly with "
           "the batch size (Goyal et al. 2017, as Wu and He 2018 did); 2 epochs of the 4,000 "
           "training digits at every batch size. bn_core.lessons.small_batches builds the sweep."),
    Preset("cnn-twins", "A convolutional net with BatchNorm2d beside its plain twin", "T12",
           RunConfig(dataset="mnist-subset", arch="cnn", nets=("plain", "bn"), depth=2, width=8,
                     activation="sigmoid", batch_size=32, lr=0.5, steps=1500,
                     probe_every=100, eval_every=50, heldout_size=500),
           "2 conv layers of 8 channels (3x3, padding 1), BN per channel before the sigmoid "
           "(as in Figure 1), 2x2 max pooling, a linear head on 8x7x7; W ~ N(0, 1/fan_in), SGD "
           "lr 0.5, batch 32 (BN Lab's choices). 500 held-out digits: a probe of a conv layer "
           "reads N*H*W values per channel. Measured: the plain twin sits at chance for "
           "hundreds of steps, the BN twin does not."),
    Preset("cnn-twins-relu", "The same CNN with ReLU and He init", "T12",
           RunConfig(dataset="mnist-subset", arch="cnn", nets=("plain", "bn"), depth=2, width=8,
                     activation="relu", init="he", batch_size=32, lr=0.1,
                     steps=1500, probe_every=100, eval_every=50, heldout_size=500),
           "As cnn-twins with ReLU, He init (scale sqrt 2) and lr 0.1. Measured: the twins end "
           "level, BN gives this small CNN no accuracy edge."),
)}


# ---------------------------------------------------------------------------- lesson defaults
# The setup each lesson page starts from. `python -m bn_core check-claims` trains these same
# configs (headless, pace off: pace only sleeps, it changes no number) on several seeds, so a
# sentence a page states as a claim is checked on exactly what the student first sees.
_TOY_MODEL = dict(n_samples=300, noise=0.15, depth=2, width=16, activation="sigmoid", lr=0.5,
                  batch_size=30, steps=1500, probe_every=20, eval_every=20, grid_resolution=60,
                  heldout_size=300)
LESSON_SETUPS: dict[str, RunConfig] = {
    # Figure 1 live: the paper's net and batch; 3,000 steps (not 50,000) so a run takes seconds.
    "figure1": PRESETS["figure1"].config.replace(steps=3000, probe_every=25, eval_every=50),
    # Covariate shift (T1): a small sigmoid net learns the moons in about a thousand steps,
    # paced so that the boundaries can be watched moving; the test points are shifted.
    "covariate-shift": RunConfig(dataset="moons", shift_x=1.0, rotate_deg=30.0, pace=120.0,
                                 **_TOY_MODEL),
    # Whitening (T2): the same moons 8 units from the origin, ZCA-whitened (the page compares
    # it with the same run unwhitened).
    "whitening": RunConfig(dataset="moons", far_offset=8.0, whitening="zca", pace=100.0,
                           **_TOY_MODEL),
    # Internal covariate shift (T3, T6): a 4 x 100 ReLU net with He's init, so the plain net's
    # layers start at comparable variances (with N(0, 1/fan_in) the top layer starts 16 times
    # smaller, and much of its "growth" is the recovery from that start).
    "internal-covariate-shift": RunConfig(dataset="mnist-subset", depth=4, width=100,
                                          activation="relu", init="he", lr=0.1, batch_size=60,
                                          steps=3000, probe_every=25, eval_every=50,
                                          heldout_size=1000, grid_resolution=0),
    # gamma and beta (T7): the two moons, which are each other's mirror image through their
    # centre with the classes swapped, so a BN net whose units all switch at the batch mean
    # (beta = 0) can still separate them; gamma frozen at 0.5 keeps every sigmoid input in its
    # near-linear zone. About 20 s at 100 steps/s.
    "gamma-beta": RunConfig(dataset="moons", n_samples=400, noise=0.1, depth=3, width=32,
                            activation="sigmoid", affine="frozen", gamma_value=0.5,
                            beta_value=0.0, lr=0.5, batch_size=30, steps=2000, probe_every=20,
                            eval_every=20, grid_resolution=40, heldout_size=500, pace=100.0),
    # Shuffling (T8): two rings, batches of 10, sorted by class; paced to last about 20 s.
    "shuffling": RunConfig(dataset="circles", n_samples=300, noise=0.15, depth=2, width=32,
                           activation="sigmoid", lr=1.0, batch_size=10, steps=2000, shuffle=0.0,
                           probe_every=20, eval_every=20, grid_resolution=50, heldout_size=300,
                           pace=100.0),
    # Gradients (T5): a 10-layer sigmoid net on the MNIST subset (the BN-x5-Sigmoid analogue).
    "gradients": RunConfig(dataset="mnist-subset", depth=10, width=64, activation="sigmoid",
                           lr=0.1, lr_multiplier=1.0, batch_size=60, steps=2000, probe_every=20,
                           eval_every=50, heldout_size=1000, grid_resolution=0),
    # Does BN reduce ICS? (T13): the BN paper's 3 x 100 sigmoid net at learning rate 0.5, where
    # both nets train (at 0.1 the plain net sits on its starting plateau for most of the run).
    "santurkar-mnist": RunConfig(dataset="mnist-subset", nets=("plain", "bn", "noisy_bn"),
                                 depth=3, width=100, activation="sigmoid", batch_size=60, lr=0.5,
                                 steps=1500, probe_every=25, eval_every=50, ics_every=50,
                                 heldout_size=1000, grid_resolution=0),
    # ... and Santurkar's 25-layer deep linear network, probed more often than the preset.
    "santurkar-deep-linear": PRESETS["deep-linear-ics"].config.replace(probe_every=10),
}


def lesson_setup(name: str) -> RunConfig:
    """The default setup of a lesson page; ValueError lists the known names."""
    try:
        return LESSON_SETUPS[name]
    except KeyError:
        raise ValueError(f"lesson: got {name!r}; allowed: one of {', '.join(LESSON_SETUPS)}") \
            from None


def preset(name: str) -> Preset:
    """The named preset; ValueError lists the known names."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"preset: got {name!r}; allowed: one of {', '.join(PRESETS)}") from None
