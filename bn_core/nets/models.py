"""Tiny MLPs and CNNs with and without batch normalization, built as twins from one set of
weights; besides BN, a layer can normalise only (gamma 1, beta 0 frozen), scale and shift only
(no normalisation), or use LayerNorm or GroupNorm, to test which part of BN does the work.

Every hidden layer is linear -> [BN] -> nonlinearity (placement "before", the paper's), or
linear -> nonlinearity -> BN (placement "after"); a CNN layer is a 3x3 conv in place of the
linear map, then 2x2 max pooling. A forward pass can record, per hidden layer,
what BN sees and what the nonlinearity sees, which is what the lessons plot.
"""
from __future__ import annotations

import math

import numpy as np

import torch
import torch.nn.functional as F
from torch import nn

from bn_core.config import RunConfig
from bn_core.nets.zones import NOISE_MEAN_RANGE, NOISE_SCALE_RANGE

ACTIVATION_FUNCTIONS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "linear": lambda z: z,
}

# Santurkar et al. 2018 noise (experiments.md section 2, secondary source); mu_t's and sigma_t's
# ranges (NOISE_MEAN_RANGE, NOISE_SCALE_RANGE) are in bn_core/nets/zones.py:
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


class _AffineModes:
    """gamma/beta learnable, frozen at set values, or set to undo the normalisation
    (gamma = sqrt(var_B + eps), beta = mu_B: the output equals the input); shared by the
    fully connected and the convolutional BN."""

    def _set_affine_mode(self, affine_mode: str, gamma: float, beta: float) -> None:
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
            dims = [0] + list(range(2, z.dim()))  # per feature, or per channel over N, H, W
            shape = (1, -1) + (1,) * (z.dim() - 2)
            if self.training:
                mean, var = z.mean(dims), z.var(dims, unbiased=False)
            else:
                mean, var = self.running_mean, self.running_var
            y = y * torch.sqrt(var + self.eps).view(shape) + mean.view(shape)
        return y


class BatchNorm(_AffineModes, nn.BatchNorm1d):
    """nn.BatchNorm1d whose gamma/beta can be learnable, frozen at set values, or set to undo
    the normalisation (gamma = sqrt(var_B + eps), beta = mu_B: the output equals the input)."""

    def __init__(self, width: int, affine_mode: str = "learnable", gamma: float = 1.0,
                 beta: float = 0.0):
        nn.BatchNorm1d.__init__(self, width)
        self._set_affine_mode(affine_mode, gamma, beta)


class BatchNorm2d(_AffineModes, nn.BatchNorm2d):
    """Convolutional BN (one gamma/beta per channel, statistics over N, H, W), with the same
    gamma/beta modes as `BatchNorm`."""

    def __init__(self, channels: int, affine_mode: str = "learnable", gamma: float = 1.0,
                 beta: float = 0.0):
        nn.BatchNorm2d.__init__(self, channels)
        self._set_affine_mode(affine_mode, gamma, beta)


class _NoRunningStatistics(nn.Module):
    """A per-feature (per-channel) layer with a learnable gamma (weight) and beta (bias) and no
    running statistics: they read as NaN, so records and charts of them stay empty."""

    def __init__(self, width: int):
        super().__init__()
        self.num_features = width
        self.weight = nn.Parameter(torch.ones(width))
        self.bias = nn.Parameter(torch.zeros(width))

    @property
    def running_mean(self) -> torch.Tensor:
        return torch.full((self.num_features,), math.nan)

    @property
    def running_var(self) -> torch.Tensor:
        return torch.full((self.num_features,), math.nan)

    def _shape(self, z: torch.Tensor) -> tuple:
        return (1, -1) + (1,) * (z.dim() - 2)


class Affine(_NoRunningStatistics):
    """BN's scale-and-shift without the normalisation: y = gamma * z + beta per feature (per
    channel), gamma starting at 1 and beta at 0, both learnable."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        shape = self._shape(z)
        return z * self.weight.view(shape) + self.bias.view(shape)


class LayerNorm(_NoRunningStatistics):
    """Ba et al. 2016: each example normalised over its own units (over all channels and
    positions of a conv layer), then gamma and beta per unit (per channel). No batch
    statistics, so train and eval modes are the same function."""

    eps = 1e-5

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() == 2:
            return F.layer_norm(z, (self.num_features,), self.weight, self.bias, self.eps)
        return F.group_norm(z, 1, self.weight, self.bias, self.eps)  # GN with one group


class GroupNorm(_NoRunningStatistics):
    """Wu and He 2018: each example's units (channels) split into groups, each group
    normalised over its own values, then gamma and beta per unit (per channel)."""

    eps = 1e-5

    def __init__(self, width: int, groups: int):
        super().__init__(width)
        self.groups = group_count(width, groups)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return F.group_norm(z, self.groups, self.weight, self.bias, self.eps)


def group_count(width: int, groups: int) -> int:
    """The groups GroupNorm uses: the largest divisor of `width` not above `groups` (at
    least 1), so every group holds the same number of units."""
    return max(d for d in range(1, max(1, min(groups, width)) + 1) if width % d == 0)


NORM_KINDS = ("bn", "norm_only", "affine_only", "layernorm", "groupnorm")


def make_norm(kind: str, width: int, conv: bool, affine_mode: str = "learnable",
              gamma: float = 1.0, beta: float = 0.0, groups: int = 4) -> nn.Module:
    """The per-layer module of a net kind: BN (gamma/beta as the run says), normalise only
    (gamma 1 and beta 0, frozen), scale-and-shift only, LayerNorm or GroupNorm."""
    bn = BatchNorm2d if conv else BatchNorm
    if kind == "bn":
        return bn(width, affine_mode, gamma, beta)
    if kind == "norm_only":
        return bn(width, "frozen", 1.0, 0.0)
    if kind == "affine_only":
        return Affine(width)
    if kind == "layernorm":
        return LayerNorm(width)
    if kind == "groupnorm":
        return GroupNorm(width, groups)
    raise ValueError(f"norm: got {kind!r}; allowed: one of {', '.join(NORM_KINDS)}")


def _drops_bias(norm: str | None, placement: str, affine_mode: str) -> bool:
    """Whether the layer before a norm loses its bias. BN's beta replaces it (BN paper, 3.2):
    the mean subtraction cancels it anyway; the affine layer's beta replaces it too. LayerNorm
    and GroupNorm keep it (their per-example statistics do not cancel a per-unit bias), and
    BN set to undo keeps it so the net equals the plain one."""
    if norm in ("bn", "norm_only"):
        return placement == "before" and (norm == "norm_only" or affine_mode != "undo")
    return norm == "affine_only" and placement == "before"


def _channels_last(t: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N*H*W, C): convolutional BN is ordinary BN on this (T12)."""
    return t.permute(0, 2, 3, 1).reshape(-1, t.shape[1])


class MLP(nn.Module):
    """input -> depth x (linear, [norm], nonlinearity) -> linear output."""

    def __init__(self, input_dim: int, n_outputs: int, depth: int, width: int, activation: str,
                 norm: str | bool | None = None, noise: bool = False, placement: str = "before",
                 affine_mode: str = "learnable", gamma: float = 1.0, beta: float = 0.0,
                 dropout: float = 0.0, generator: torch.Generator | None = None,
                 groups: int = 4):
        super().__init__()
        norm = "bn" if norm is True else (norm or None)
        self.activation = activation
        self.act = ACTIVATION_FUNCTIONS[activation]
        self.norm, self.placement, self.dropout = norm, placement, dropout
        self.generator = generator or torch.Generator().manual_seed(0)
        dims = [input_dim] + [width] * depth
        drop_bias = _drops_bias(norm, placement, affine_mode)
        self.linears = nn.ModuleList(nn.Linear(dims[i], dims[i + 1], bias=not drop_bias)
                                     for i in range(depth))
        self.output = nn.Linear(width, n_outputs)
        self.norms = nn.ModuleList(make_norm(norm, width, False, affine_mode, gamma, beta, groups)
                                   for _ in range(depth)) if norm else None
        self.noises = nn.ModuleList(TimeVaryingNoise(self.generator)
                                    for _ in range(depth)) if noise else None

    @property
    def depth(self) -> int:
        return len(self.linears)

    def forward(self, x: torch.Tensor, trace: list | None = None) -> torch.Tensor:
        """Logits; if `trace` is a list, append per hidden layer a dict of tensors:
        z (linear output), bn_in (what the norm layer takes, if any), pre (the nonlinearity's
        input)."""
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


CNN_KERNEL = 3   # 3x3 convolutions, padded so a layer keeps its height and width
CNN_POOL = 2     # 2x2 max pooling after each conv layer halves them


def cnn_sides(image_side: int, depth: int) -> list[int]:
    """Height (= width) of each conv layer's feature maps, then of the pooled output."""
    sides = [image_side]
    for _ in range(depth):
        sides.append(sides[-1] // CNN_POOL)
    return sides


def _channel_moments(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and biased variance over N, H, W, in two passes (centred, so as
    accurate as Tensor.var, which is ~9x slower over these dimensions on CPU)."""
    mean = t.mean((0, 2, 3))
    return mean, (t - mean.view(1, -1, 1, 1)).square().mean((0, 2, 3))


class ConvNet(nn.Module):
    """image -> depth x (3x3 conv, [norm], nonlinearity, 2x2 max pool) -> linear output.

    The MLP's interface: `linears` are the conv layers, `norms` one per conv layer (BN per
    channel: BatchNorm2d), `forward(x, trace)` takes flattened images. Its trace holds, per
    conv layer, z / bn_in / pre reshaped to (N*H*W, C) (T12's reshape, so every probe of the
    MLP reads channels as units), and separately the per-channel statistics over N, H, W and
    the feature maps of the batch's first image (see `forward`)."""

    def __init__(self, image_shape: tuple[int, int], n_outputs: int, depth: int, channels: int,
                 activation: str, norm: str | bool | None = None, noise: bool = False,
                 placement: str = "before", affine_mode: str = "learnable", gamma: float = 1.0,
                 beta: float = 0.0, dropout: float = 0.0,
                 generator: torch.Generator | None = None, groups: int = 4):
        super().__init__()
        norm = "bn" if norm is True else (norm or None)
        self.image_shape = tuple(image_shape)
        self.activation = activation
        self.act = ACTIVATION_FUNCTIONS[activation]
        self.norm, self.placement, self.dropout = norm, placement, dropout
        self.generator = generator or torch.Generator().manual_seed(0)
        dims = [1] + [channels] * depth
        drop_bias = _drops_bias(norm, placement, affine_mode)
        self.linears = nn.ModuleList(
            nn.Conv2d(dims[i], dims[i + 1], CNN_KERNEL, padding=CNN_KERNEL // 2,
                      bias=not drop_bias) for i in range(depth))
        side = cnn_sides(self.image_shape[0], depth)[-1]
        self.output = nn.Linear(channels * side * side, n_outputs)
        self.norms = nn.ModuleList(make_norm(norm, channels, True, affine_mode, gamma, beta,
                                             groups) for _ in range(depth)) if norm else None
        self.noises = nn.ModuleList(TimeVaryingNoise(self.generator)
                                    for _ in range(depth)) if noise else None

    @property
    def depth(self) -> int:
        return len(self.linears)

    def forward(self, x: torch.Tensor, trace: list | None = None) -> torch.Tensor:
        """Logits of flattened images x (N, H*W). If `trace` is a list, append per conv layer:
        z, bn_in (if there is a norm layer), pre: the (N, C, H, W) tensors reshaped to
        (N*H*W, C); channel_mean, channel_var: (C,) mean and biased variance over N, H, W of
        the conv output z, pre_channel_mean, pre_channel_var: the same of the nonlinearity's
        input; maps: (C, H, W) the nonlinearity's output for the first image of the batch."""
        before = self.norm and self.placement == "before"
        after = self.norm and self.placement == "after"
        x = x.reshape(-1, 1, *self.image_shape)
        for i, conv in enumerate(self.linears):
            z = F.conv2d(x, conv.weight, conv.bias, padding=CNN_KERNEL // 2)
            conv_out = z
            bn_in = None
            if before:
                bn_in = z
                z = self.norms[i].forward(z)
            if self.noises is not None and not after:
                z = self.noises[i].forward(z)
            pre = z
            h = self.act(z)
            maps = h
            if after:
                bn_in = h
                h = self.norms[i].forward(h)
                if self.noises is not None:
                    h = self.noises[i].forward(h)
            h = F.max_pool2d(h, CNN_POOL)
            if self.dropout > 0 and self.training:
                keep = torch.rand(h.shape, generator=self.generator) >= self.dropout
                h = h * keep / (1.0 - self.dropout)
            if trace is not None:
                record = {"z": _channels_last(conv_out)}
                if bn_in is not None:
                    record["bn_in"] = record["z"] if bn_in is conv_out else _channels_last(bn_in)
                record["pre"] = record["z"] if pre is conv_out else _channels_last(pre)
                with torch.no_grad():
                    record["channel_mean"], record["channel_var"] = _channel_moments(conv_out)
                    record["pre_channel_mean"], record["pre_channel_var"] = _channel_moments(pre)
                    record["maps"] = maps[0].detach().clone()
                trace.append(record)
            x = h
        return F.linear(x.flatten(1), self.output.weight, self.output.bias)

    def weight_tensors(self) -> list[torch.Tensor]:
        """The conv kernels of the hidden layers and the output layer's weights, bottom to top."""
        return [conv.weight for conv in self.linears] + [self.output.weight]


def _image_side(input_dim: int) -> int:
    side = math.isqrt(input_dim)
    if side * side != input_dim:
        raise ValueError(f"arch: a convolutional net needs square images; got {input_dim} inputs")
    return side


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
    """Weights W ~ N(0, std^2), std from the config's `init` rule, from the run's seed (the
    same standard normal draws for every rule, so rules differ only in scale): linear matrices
    for the MLP; 3x3 kernels (fan_in = in channels * 9) and the output matrix for the CNN."""
    g = torch.Generator().manual_seed(config.seed)
    if config.arch == "cnn":
        side = _image_side(input_dim)
        channels = [1] + [config.width] * config.depth
        shapes = [(channels[i + 1], channels[i], CNN_KERNEL, CNN_KERNEL)
                  for i in range(config.depth)]
        last = cnn_sides(side, config.depth)[-1]
        shapes.append((n_outputs, config.width * last * last))
        return [torch.randn(*shape, generator=g)
                * init_std(config.init, math.prod(shape[1:]), shape[0] * math.prod(shape[2:]),
                           config.init_scale) for shape in shapes]
    dims = [input_dim] + [config.width] * config.depth + [n_outputs]
    return [torch.randn(dims[i + 1], dims[i], generator=g)
            * init_std(config.init, dims[i], dims[i + 1], config.init_scale)
            for i in range(len(dims) - 1)]


# Net kinds in the order that fixes each kind's noise seed (append only: old runs keep theirs).
SEED_ORDER = ("plain", "bn", "noisy_bn", "noisy_plain", "norm_only", "affine_only", "layernorm",
              "groupnorm")


def norm_of(kind: str) -> str | None:
    """The norm layer a net kind puts in every hidden layer (None for the plain nets)."""
    if kind in ("bn", "noisy_bn"):
        return "bn"
    return kind if kind in NORM_KINDS else None


def build_net(kind: str, config: RunConfig, input_dim: int, n_outputs: int,
              weights: list[torch.Tensor]) -> MLP | ConvNet:
    """One net of the run (a kind of NET_KINDS) with the given weights, as an MLP or a CNN."""
    noise_seed = config.seed * 1000 + 7 + SEED_ORDER.index(kind)
    common = dict(norm=norm_of(kind), noise=kind.startswith("noisy"), placement=config.placement,
                  affine_mode=config.affine, gamma=config.gamma_value, beta=config.beta_value,
                  dropout=config.dropout, generator=torch.Generator().manual_seed(noise_seed),
                  groups=config.groups)
    if config.arch == "cnn":
        side = _image_side(input_dim)
        net = ConvNet((side, side), n_outputs, config.depth, config.width, config.activation,
                      **common)
    else:
        net = MLP(input_dim, n_outputs, config.depth, config.width, config.activation, **common)
    with torch.no_grad():
        for lin, w in zip(net.linears, weights):
            lin.weight.copy_(w)
            if lin.bias is not None:
                lin.bias.zero_()
        net.output.weight.copy_(weights[-1])
        net.output.bias.zero_()
    return net


def build_twins(config: RunConfig, input_dim: int, n_outputs: int) -> dict[str, MLP | ConvNet]:
    """The run's nets, all starting from identical weights."""
    weights = initial_weights(config, input_dim, n_outputs)
    return {kind: build_net(kind, config, input_dim, n_outputs, weights) for kind in config.nets}


def flat_parameters(net) -> "np.ndarray":
    """Every floating-point tensor of a net's state (weights, biases, gamma, beta, running
    statistics) in one float32 vector, in state_dict order: what a run records at its probe
    steps for toy nets (time scrubber, re-scoring on other test data)."""
    import numpy as np

    with torch.no_grad():
        return torch.cat([t.reshape(-1) for t in net.state_dict().values()
                          if t.dtype.is_floating_point]).numpy().astype(np.float32)


def load_flat_parameters(net, flat) -> None:
    """The inverse of `flat_parameters`: put a recorded vector back into a net of the same
    shape (raises ValueError if the sizes differ)."""
    flat = torch.tensor(np.asarray(flat, dtype=np.float32))
    tensors = [t for t in net.state_dict().values() if t.dtype.is_floating_point]
    total = sum(t.numel() for t in tensors)
    if flat.numel() != total:
        raise ValueError(f"recorded parameters: got {flat.numel()} values; this net has {total}")
    offset = 0
    with torch.no_grad():
        for t in tensors:
            n = t.numel()
            t.copy_(flat[offset:offset + n].reshape(t.shape))
            offset += n
