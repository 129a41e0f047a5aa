"""What a run will cost before it trains: parameters, CPU time and memory, and the limits a
shared server puts on one run.

The step-time model is fitted to measurements on the 2-core machine BN Lab is built on
(docs/benchmarks.md, "Run cost model"): a fixed Python/torch overhead per layer per net, plus the
arithmetic at the rate one core reaches on these small matrices.
"""
from __future__ import annotations

import os

OVERHEAD_PER_NET = 1.0e-4        # seconds per net step, whatever its size
OVERHEAD_PER_LAYER = 9.0e-5      # seconds per hidden layer per net step
SECONDS_PER_FLOP = 2.6e-11       # ~38 GFLOP/s: one core on 100-wide float32 matmuls
MAX_RUN_CPU_SECONDS = float(os.environ.get("BNLAB_MAX_RUN_CPU_SECONDS", 20 * 60))
MAX_RUN_MEMORY_MIB = float(os.environ.get("BNLAB_MAX_RUN_MEMORY_MIB", 512))

INPUT_DIMS = {"mnist-subset": 784, "mnist": 784, "fashion-mnist": 784, "deep-linear": 10}
OUTPUTS = {"blobs": 3, "spiral": 3, "mnist-subset": 10, "mnist": 10, "fashion-mnist": 10,
           "deep-linear": 10}
TRAIN_SIZES = {"mnist-subset": 4000, "mnist": 60000, "fashion-mnist": 60000}


def layer_dims(config) -> list[int]:
    return ([INPUT_DIMS.get(config.dataset, 2)] + [config.width] * config.depth
            + [OUTPUTS.get(config.dataset, 2)])


def parameter_count(config) -> int:
    """Weights and biases of one net (BN's gamma and beta included)."""
    dims = layer_dims(config)
    return sum(a * b + b for a, b in zip(dims[:-1], dims[1:])) + 2 * config.width * config.depth


def step_flops(config) -> float:
    """Multiply-adds x 2 of one training step of one net: forward, and backward without the
    input layer's own input gradient."""
    dims = layer_dims(config)
    mac = sum(a * b for a, b in zip(dims[:-1], dims[1:]))
    return 2.0 * config.batch_size * (3 * mac - dims[0] * dims[1])


def probe_flops_per_step(config) -> float:
    """The probes' arithmetic, spread over the steps between them."""
    forward = 2.0 * sum(a * b for a, b in zip(layer_dims(config)[:-1], layer_dims(config)[1:]))
    probe = forward * (config.heldout_size + config.grid_resolution ** 2) / config.probe_every
    evaluate = forward * (500 + 2 * config.heldout_size) / config.eval_every
    ics = (forward * config.batch_size * 3 * (config.depth + 1) * 2 / config.ics_every
           if config.ics_every else 0.0)
    return probe + evaluate + ics


def estimate_step_seconds(config) -> float:
    """CPU seconds one lockstep step of the whole run takes, all nets and probes included."""
    per_net = (OVERHEAD_PER_NET + OVERHEAD_PER_LAYER * config.depth
               + SECONDS_PER_FLOP * (step_flops(config) + probe_flops_per_step(config)))
    return len(config.nets) * per_net


def estimate_memory_mib(config) -> float:
    """Resident memory the run's nets, optimiser state, activations and data take."""
    params = parameter_count(config) * len(config.nets)
    tensors = params * 4 * 4  # weights, gradients, momentum, autograd temporaries
    rows = max(config.batch_size, config.heldout_size, config.grid_resolution ** 2, 500)
    activations = rows * config.width * config.depth * 4 * 6 * len(config.nets)
    data = TRAIN_SIZES.get(config.dataset, config.n_samples) * INPUT_DIMS.get(config.dataset, 2) * 4
    return (tensors + activations + data) / 2**20


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} seconds"
    if seconds < 5400:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds / 3600:.1f} hours"


def budget_problem(config) -> str | None:
    """Why a run is too big for a shared server, in words; None if it fits."""
    cpu = estimate_step_seconds(config) * config.steps
    if cpu > MAX_RUN_CPU_SECONDS:
        return (f"these settings ask for about {_duration(cpu)} of training on this server, "
                f"over the limit of {_duration(MAX_RUN_CPU_SECONDS)} per run; fewer steps, "
                "layers or units would fit")
    mem = estimate_memory_mib(config)
    if mem > MAX_RUN_MEMORY_MIB:
        return (f"these settings need about {mem:,.0f} MiB of memory, over the limit of "
                f"{MAX_RUN_MEMORY_MIB:,.0f} MiB per run; fewer layers, units or a smaller "
                "batch would fit")
    return None


def describe_cost(config) -> str:
    """A one-line estimate of the run's size, for status pages."""
    return (f"{parameter_count(config):,} parameters per net, about "
            f"{_duration(estimate_step_seconds(config) * config.steps)} of CPU")

