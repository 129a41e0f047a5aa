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
           RunConfig(dataset="mnist-subset", activation="relu", depth=6, width=100,
                     init_scale=2.0, lr=0.05, lr_multiplier=1.0, steps=2000,
                     probe_every=50, eval_every=100),
           "MNIST subset, 6x100 ReLU, He init (scale 2); base learning rate 0.05 (BN Lab's "
           "choice). Measured: at x5 and x30 the plain net diverges within 6 steps while the "
           "BN net reaches about 0.95 held-out accuracy."),
    Preset("lr-x5", "Learning rate x5 (BN-x5 analogue)", "T9",
           RunConfig(dataset="mnist-subset", activation="relu", depth=6, width=100,
                     init_scale=2.0, lr=0.05, lr_multiplier=5.0, steps=2000,
                     probe_every=50, eval_every=100)),
    Preset("lr-x30", "Learning rate x30 (BN-x30 analogue)", "T9",
           RunConfig(dataset="mnist-subset", activation="relu", depth=6, width=100,
                     init_scale=2.0, lr=0.05, lr_multiplier=30.0, steps=2000,
                     probe_every=50, eval_every=100),
           "At x30 the plain net's updates blow its activations up; BN's scale invariance "
           "keeps its effective step in check."),
    Preset("deep-sigmoid", "A deep sigmoid net (BN-x5-Sigmoid analogue)", "T5, T9",
           RunConfig(dataset="mnist-subset", depth=10, width=64, activation="sigmoid", lr=0.5,
                     steps=3000, probe_every=50, eval_every=100),
           "10 sigmoid layers: gradients vanish below the top layers without BN."),
    Preset("sorted-batches", "Batches sorted by class", "T8",
           RunConfig(dataset="blobs", shuffle=0.0, batch_size=10, steps=1500, lr=0.5,
                     probe_every=25, eval_every=25)),
    Preset("shuffled-batches", "Fully shuffled batches", "T8",
           RunConfig(dataset="blobs", shuffle=1.0, batch_size=10, steps=1500, lr=0.5,
                     probe_every=25, eval_every=25)),
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
                     width=100, activation="relu", init_scale=2 ** 0.5, groups=4,
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
                     activation="relu", init_scale=2 ** 0.5, batch_size=32, lr=0.1,
                     steps=1500, probe_every=100, eval_every=50, heldout_size=500),
           "As cnn-twins with ReLU, He init (scale sqrt 2) and lr 0.1. Measured: the twins end "
           "level, BN gives this small CNN no accuracy edge."),
)}


def preset(name: str) -> Preset:
    """The named preset; ValueError lists the known names."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"preset: got {name!r}; allowed: one of {', '.join(PRESETS)}") from None
