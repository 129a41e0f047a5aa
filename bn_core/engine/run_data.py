"""A run's data, as the trainers and the pages both see it, without torch.

The web server reads a run's data set (to draw decision regions, to score a shifted test set),
its histogram edges and its checks from here, so it never imports torch; the trainers
(bn_core/engine/training.py) build their tensors from the same arrays.
"""
from __future__ import annotations

import functools

import numpy as np

from bn_core.config import TOY_DATASETS, RunConfig, is_custom_dataset
from bn_core.data.datasets import Dataset, Whitener, build_toy_dataset
from bn_core.engine.budget import budget_problem
from bn_core.nets import zones

MNIST_TRAIN_SIZES = {"mnist-subset": 4000, "mnist": 60000, "fashion-mnist": 60000}
DEEP_LINEAR_DIM = 10


def deep_linear_dataset(n_samples: int, seed: int) -> Dataset:
    """Santurkar's deep linear task: x ~ N(0, I_10), targets A x with A a random 10x10."""
    rng = np.random.default_rng([seed, 99])
    a = rng.standard_normal((DEEP_LINEAR_DIM, DEEP_LINEAR_DIM))
    xs = [rng.standard_normal((n, DEEP_LINEAR_DIM)).astype(np.float32)
          for n in (n_samples, max(200, n_samples // 2))]
    ys = [(x @ a.T).astype(np.float32) for x in xs]
    ident = Whitener("none", np.zeros(DEEP_LINEAR_DIM), np.eye(DEEP_LINEAR_DIM))
    return Dataset(name="deep-linear", x_train=xs[0], y_train=ys[0], x_heldout=xs[1],
                   y_heldout=ys[1], x_test=xs[1], y_test=ys[1], n_classes=DEEP_LINEAR_DIM,
                   input_dim=DEEP_LINEAR_DIM, image_shape=None, whitener=ident)


@functools.lru_cache(maxsize=16)
def _cached_dataset(key: tuple) -> Dataset:
    name, n, noise, seed, far, white, shift, rot, scale, binarize = key
    if name in TOY_DATASETS:
        return build_toy_dataset(name, n_samples=n, noise=noise, seed=seed, far_offset=far,
                                 whitening=white, translate=shift, rotate_deg=rot, scale=scale)
    if is_custom_dataset(name):  # named by its content: the cache can never be stale
        from bn_core.data.custom import custom_dataset
        return custom_dataset(name, far_offset=far, whitening=white, translate=shift,
                              rotate_deg=rot, scale=scale)
    if name == "deep-linear":
        return deep_linear_dataset(n, seed)
    from bn_core.data.mnist import load_mnist  # imported lazily: only image runs need it
    return load_mnist(name, binarize=binarize)


def data_key(config: RunConfig) -> tuple:
    """The fields of a config that decide its data set (runs equal in these share the data)."""
    toy = config.is_toy
    return (config.dataset, config.n_samples, config.noise if toy else 0.0, config.seed,
            config.far_offset if toy else 0.0, config.whitening if toy else "none",
            (config.shift_x, config.shift_y) if toy else (0.0, 0.0),
            config.rotate_deg if toy else 0.0, config.scale if toy else 1.0,
            config.binarize and not toy)


def load_data(config: RunConfig) -> Dataset:
    """The run's data set (cached per process: viewers of similar runs share the arrays)."""
    return _cached_dataset(data_key(config))


def training_set_size(config: RunConfig) -> int:
    """How many training examples the config's data set has, without loading it."""
    if config.dataset in MNIST_TRAIN_SIZES:
        return MNIST_TRAIN_SIZES[config.dataset]
    if is_custom_dataset(config.dataset):
        from bn_core.data.custom import training_size
        return training_size(config.dataset)
    return config.n_samples


def check_config(config: RunConfig) -> None:
    """Checks that need the data's size: raise ValueError naming the field."""
    n = training_set_size(config)
    if config.batch_size > n:
        raise ValueError(f"batch_size: got {config.batch_size}; allowed: between 1 and {n} "
                         f"(the {config.dataset} training set has {n} examples)")
    problem = budget_problem(config)
    if problem:
        raise ValueError(f"steps: {problem}")


def bn_input_edges(activation: str, placement: str) -> np.ndarray:
    """Histogram edges for what BN normalises: linear outputs, or the nonlinearity's outputs."""
    if placement == "before":
        return zones.histogram_edges(activation)
    lo, hi = {"sigmoid": (-0.1, 1.1), "tanh": (-1.2, 1.2), "relu": (-0.5, 6.0),
              "linear": (-6.0, 6.0)}[activation]
    return np.linspace(lo, hi, zones.HISTOGRAM_BINS + 1)
