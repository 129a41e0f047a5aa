"""Tiny MLPs with and without batch normalization, built as twins from one set of weights.

Every hidden layer is linear -> [BN] -> nonlinearity (placement "before", the paper's), or
linear -> nonlinearity -> BN (placement "after"). A forward pass can record, per hidden layer,
what BN sees and what the nonlinearity sees, which is what the lessons plot.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from bn_core.config import RunConfig

ACTIVATION_FUNCTIONS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "linear": lambda z: z,
}

# Santurkar et al. 2018 noise (experiments.md section 2, secondary source):
NOISE_MEAN_RANGE = (-0.5, 0.5)   # mu_t ~ U, per layer and step
NOISE_SCALE_RANGE = (1.0, 1.25)  # sigma_t ~ U, per layer and step
NOISE_SHIFT_SPREAD = 0.1         # m ~ U(mu_t - 0.1, mu_t + 0.1), per element
NOISE_SCALE_SPREAD = 0.1         # s ~ N(sigma_t, 0.1), per element
SMALL_INIT_STD = 0.01            # the "small" init: W ~ N(0, 0.01^2)


class TimeVaryingNoise(nn.Module):
    """a <- s * a + m with noise of non-zero mean and non-unit variance, new at every step."""

    def __init__(self, generator: torch.Generator):
        super().__init__()
        self.generator = generator

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return a
        g = self.generator
        mu_t = torch.empty(()).uniform_(*NOISE_MEAN_RANGE, generator=g)
        sigma_t = torch.empty(()).uniform_(*NOISE_SCALE_RANGE, generator=g)
        m = torch.empty_like(a).uniform_(-NOISE_SHIFT_SPREAD, NOISE_SHIFT_SPREAD, generator=g)
        s = torch.empty_like(a).normal_(0.0, NOISE_SCALE_SPREAD, generator=g)
        return (s + sigma_t) * a + (m + mu_t)


class BatchNorm(nn.BatchNorm1d):
    """nn.BatchNorm1d whose gamma/beta can be learnable, frozen at set values, or set to undo
    the normalisation (gamma = sqrt(var_B + eps), beta = mu_B: the output equals the input)."""

    def __init__(self, width: int, affine_mode: str = "learnable", gamma: float = 1.0,
                 beta: float = 0.0):
        super().__init__(width)
        self.affine_mode = affine_mode
        if affine_mode != "learnable":
            with torch.no_grad():
                self.weight.fill_(gamma if affine_mode == "frozen" else 1.0)
                self.bias.fill_(beta if affine_mode == "frozen" else 0.0)
            self.weight.requires_grad_(False)
            self.bias.requires_grad_(False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        # F.batch_norm directly: the module's own forward adds Python overhead per step.
        y = F.batch_norm(z, self.running_mean, self.running_var, self.weight, self.bias,
                         self.training, self.momentum, self.eps)
        if self.affine_mode == "undo":
            if self.training:
                mean, var = z.mean(0), z.var(0, unbiased=False)
            else:
                mean, var = self.running_mean, self.running_var
            y = y * torch.sqrt(var + self.eps) + mean
        return y


class MLP(nn.Module):
    """input -> depth x (linear, [BN], nonlinearity) -> linear output."""

    def __init__(self, input_dim: int, n_outputs: int, depth: int, width: int, activation: str,
                 norm: bool = False, noise: bool = False, placement: str = "before",
                 affine_mode: str = "learnable", gamma: float = 1.0, beta: float = 0.0,
                 dropout: float = 0.0, generator: torch.Generator | None = None):
        super().__init__()
        self.activation = activation
        self.act = ACTIVATION_FUNCTIONS[activation]
        self.norm, self.placement, self.dropout = norm, placement, dropout
        self.generator = generator or torch.Generator().manual_seed(0)
        dims = [input_dim] + [width] * depth
        # beta replaces the bias (BN paper, 3.2); "undo" keeps it so the net equals the plain one
        drop_bias = norm and placement == "before" and affine_mode != "undo"
        self.linears = nn.ModuleList(nn.Linear(dims[i], dims[i + 1], bias=not drop_bias)
                                     for i in range(depth))
        self.output = nn.Linear(width, n_outputs)
        self.norms = nn.ModuleList(BatchNorm(width, affine_mode, gamma, beta)
                                   for _ in range(depth)) if norm else None
        self.noises = nn.ModuleList(TimeVaryingNoise(self.generator)
                                    for _ in range(depth)) if noise else None

    @property
    def depth(self) -> int:
        return len(self.linears)

    def forward(self, x: torch.Tensor, trace: list | None = None) -> torch.Tensor:
        """Logits; if `trace` is a list, append per hidden layer a dict of tensors:
        z (linear output), bn_in (what BN normalises, if any), pre (the nonlinearity's input)."""
        # Submodules' forward() is called directly, skipping nn.Module.__call__'s hook
        # machinery: these nets are tiny and per-call overhead dominates their step time.
        before = self.norm and self.placement == "before"
        after = self.norm and self.placement == "after"
        for i, linear in enumerate(self.linears):
            z = F.linear(x, linear.weight, linear.bias)
            record = {"z": z} if trace is not None else None
            if before:
                if record is not None:
                    record["bn_in"] = z
                z = self.norms[i].forward(z)
            if self.noises is not None and not after:
                z = self.noises[i].forward(z)
            if record is not None:
                record["pre"] = z
            h = self.act(z)
            if after:
                if record is not None:
                    record["bn_in"] = h
                h = self.norms[i].forward(h)
                if self.noises is not None:
                    h = self.noises[i].forward(h)
            if self.dropout > 0 and self.training:
                keep = torch.rand(h.shape, generator=self.generator) >= self.dropout
                h = h * keep / (1.0 - self.dropout)
            if trace is not None:
                trace.append(record)
            x = h
        return F.linear(x, self.output.weight, self.output.bias)

    def weight_tensors(self) -> list[torch.Tensor]:
        """The weight matrices of the hidden layers and the output layer, bottom to top."""
        return [lin.weight for lin in self.linears] + [self.output.weight]


def init_std(init: str, fan_in: int, fan_out: int, scale: float = 1.0) -> float:
    """The standard deviation of a layer's initial weights, by the rule's name."""
    if init == "default":
        return 1.0 / math.sqrt(fan_in)                # LeCun: N(0, 1/fan_in)
    if init == "he":
        return math.sqrt(2.0 / fan_in)                # He et al. 2015: N(0, 2/fan_in), for ReLU
    if init == "xavier":
        return math.sqrt(2.0 / (fan_in + fan_out))    # Glorot & Bengio 2010 (normal form)
    if init == "small":
        return SMALL_INIT_STD                          # "small random Gaussian values"
    if init == "scaled":
        return scale / math.sqrt(fan_in)              # N(0, scale^2/fan_in)
    raise ValueError(f"init: got {init!r}; allowed: one of default, he, xavier, small, scaled")


def initial_weights(config: RunConfig, input_dim: int, n_outputs: int) -> list[torch.Tensor]:
    """Linear weights W ~ N(0, std^2), std from the config's `init` rule, from the run's seed
    (the same standard normal draws for every rule, so rules differ only in scale)."""
    g = torch.Generator().manual_seed(config.seed)
    dims = [input_dim] + [config.width] * config.depth + [n_outputs]
    return [torch.randn(dims[i + 1], dims[i], generator=g)
            * init_std(config.init, dims[i], dims[i + 1], config.init_scale)
            for i in range(len(dims) - 1)]


def build_net(kind: str, config: RunConfig, input_dim: int, n_outputs: int,
              weights: list[torch.Tensor]) -> MLP:
    """One net of the run ("plain", "bn", "noisy_bn" or "noisy_plain") with the given weights."""
    noise_seed = config.seed * 1000 + 7 + ["plain", "bn", "noisy_bn", "noisy_plain"].index(kind)
    net = MLP(input_dim, n_outputs, config.depth, config.width, config.activation,
              norm=kind in ("bn", "noisy_bn"), noise=kind.startswith("noisy"),
              placement=config.placement, affine_mode=config.affine, gamma=config.gamma_value,
              beta=config.beta_value, dropout=config.dropout,
              generator=torch.Generator().manual_seed(noise_seed))
    with torch.no_grad():
        for lin, w in zip(net.linears, weights):
            lin.weight.copy_(w)
            if lin.bias is not None:
                lin.bias.zero_()
        net.output.weight.copy_(weights[-1])
        net.output.bias.zero_()
    return net


def build_twins(config: RunConfig, input_dim: int, n_outputs: int) -> dict[str, MLP]:
    """The run's nets, all starting from identical linear weights."""
    weights = initial_weights(config, input_dim, n_outputs)
    return {kind: build_net(kind, config, input_dim, n_outputs, weights) for kind in config.nets}
