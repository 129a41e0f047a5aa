"""A hand-written training step for a run's twin MLPs: forward, backward and SGD in torch ops,
without autograd, for the common configurations (plain and BN-before nets, no noise/dropout).

Why: these nets are tiny, so a step's time is mostly per-op overhead (autograd's graph, Python),
not arithmetic. This step calls the same ATen kernels autograd would (native_batch_norm and its
backward, sigmoid_backward, ...) into preallocated buffers and folds each weight update into the
gradient's matmul (W <- W - lr * g^T x in one addmm), so it gives the autograd step's results up
to float rounding (tests/test_fused.py) at a fraction of its overhead (docs/benchmarks.md).

Use: `if can_fuse(config, nets): step = FusedTwinStep(nets, optimizers, config)`, then
`losses, grads = step.step(xb, yb, want_grads=probe_now)` in place of the autograd lines.
"""
from __future__ import annotations

import math

import torch

from bn_core.nets.models import MLP

FUSABLE_KINDS = ("plain", "bn")
FUSABLE_ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear")
FUSABLE_AFFINE = ("learnable", "frozen")

_aten = torch.ops.aten
_sigmoid_backward = _aten.sigmoid_backward.grad_input
_tanh_backward = _aten.tanh_backward.grad_input
_threshold_backward = _aten.threshold_backward.grad_input
_bn_backward = _aten.native_batch_norm_backward.default


def fuse_refusal(config, nets) -> str | None:
    """Why the fused step cannot train these nets (None if it can): the reason, in words."""
    kinds = tuple(getattr(config, "nets", ()))
    nets = list(nets.values()) if isinstance(nets, dict) else list(nets)
    if not nets:
        return "no nets"
    if any(k not in FUSABLE_KINDS for k in kinds):
        return f"nets {kinds}: only {FUSABLE_KINDS} are fused (noise needs autograd)"
    if getattr(config, "dropout", 0.0) != 0.0:
        return "dropout is not fused"
    if config.activation not in FUSABLE_ACTIVATIONS:
        return f"activation {config.activation!r} is not fused"
    for net in nets:
        if not isinstance(net, MLP):
            return f"{type(net).__name__} is not a bn_core MLP"
        if net.noises is not None or net.dropout != 0.0:
            return "a net has noise or dropout"
        if net.activation != config.activation:
            return "a net's activation differs from the config's"
        if not net.training:
            return "a net is in eval mode"
        if net.norm:
            if net.placement != "before":
                return "BN after the nonlinearity is not fused"
            if any(n.affine_mode not in FUSABLE_AFFINE for n in net.norms):
                return f"affine mode {config.affine!r} is not fused"
        for p in list(net.parameters()) + list(net.buffers()):
            if (p.is_floating_point() and p.dtype != torch.float32) or p.device.type != "cpu":
                return "only float32 CPU nets are fused"
        trained = {id(p) for p in net.parameters() if p.requires_grad}
        expected = {id(t) for lin in list(net.linears) + [net.output]
                    for t in (lin.weight, lin.bias) if t is not None}
        if net.norm:
            expected |= {id(t) for n in net.norms if n.affine_mode == "learnable"
                         for t in (n.weight, n.bias)}
        if trained != expected:
            return "a net's trainable parameters are not the MLP's own"
    return None


def can_fuse(config, nets) -> bool:
    """Whether FusedTwinStep can train these nets of this config (else keep autograd)."""
    return fuse_refusal(config, nets) is None


class _Layer:
    """One hidden layer's tensors: weight, bias (plain) or BN's gamma/beta/running stats."""

    __slots__ = ("w", "b", "bn", "gamma", "beta", "rmean", "rvar", "momentum", "eps",
                 "learn_affine", "mask")

    def __init__(self, linear, norm):
        self.w, self.b = linear.weight, linear.bias
        self.bn = norm is not None
        if self.bn:
            self.gamma, self.beta = norm.weight, norm.bias
            self.rmean, self.rvar = norm.running_mean, norm.running_var
            self.momentum = 0.1 if norm.momentum is None else norm.momentum
            self.eps = norm.eps
            self.learn_affine = norm.weight.requires_grad
            self.mask = [True, self.learn_affine, self.learn_affine]


class _NetStep:
    """Forward and backward of one MLP in torch ops; buffers kept per batch size."""

    def __init__(self, net: MLP, lr: float, optimizer, momentum: float, regression: bool):
        self.net, self.lr, self.optimizer, self.regression = net, float(lr), optimizer, regression
        self.momentum = momentum
        norms = list(net.norms) if net.norm else [None] * net.depth
        self.layers = [_Layer(lin, norm) for lin, norm in zip(net.linears, norms)]
        self.wo, self.bo = net.output.weight, net.output.bias
        self.activation = net.activation
        self.params = [p for p in net.parameters() if p.requires_grad]
        # the small parameters, updated by one foreach call in the fast path, top layer first
        self.small_top_down = [self.bo]
        for l in reversed(self.layers):
            if l.bn:
                self.small_top_down += [l.gamma, l.beta] if l.learn_affine else []
            else:
                self.small_top_down.append(l.b)
        self.buffers = None if optimizer is not None or not momentum else \
            [torch.zeros_like(p) for p in self.params]
        self._batch = -1
        # forward state of the current step
        self.x = self.logits = self.loss = None
        self.inputs: list = []   # what each hidden layer multiplied (x, h_1, ...)
        self.outs: list = []     # each hidden layer's activation output
        self.saved: list = []    # BN: (z, save_mean, save_invstd)

    def _alloc(self, batch: int) -> None:
        width = self.layers[0].w.shape[0]
        self.h = [torch.empty(batch, width) for _ in self.layers]   # plain: z then act in place
        self.z = [torch.empty(batch, width) if l.bn else None for l in self.layers]
        self.gh = [torch.empty(batch, width) for _ in self.layers]
        self.logits = torch.empty(batch, self.wo.shape[0])
        self.glogits = torch.empty(batch, self.wo.shape[0])
        self.ones = torch.ones(batch)
        self.neg = torch.full((batch, 1), -1.0)
        self._batch = batch

    # -- forward
    def forward(self, x: torch.Tensor, y: torch.Tensor, trace: list | None) -> float:
        batch = x.shape[0]
        if batch != self._batch:
            self._alloc(batch)
        act = self.activation
        self.x, inputs, outs, saved = x, [], [], []
        h = x
        for i, layer in enumerate(self.layers):
            inputs.append(h)
            if layer.bn:
                z = torch.mm(h, layer.w.t(), out=self.z[i])
                pre, mean, invstd = torch.native_batch_norm(
                    z, layer.gamma, layer.beta, layer.rmean, layer.rvar, True, layer.momentum,
                    layer.eps)
                saved.append((z, mean, invstd))
            else:
                pre = z = torch.addmm(layer.b, h, layer.w.t(), out=self.h[i])
                saved.append(None)
            if trace is not None:
                record = {"z": z.clone()}
                if layer.bn:
                    record["bn_in"] = record["z"]
                    record["pre"] = pre.clone()
                else:
                    record["pre"] = record["z"]
                trace.append(record)
            if act == "sigmoid":
                h = pre.sigmoid_()
            elif act == "tanh":
                h = pre.tanh_()
            elif act == "relu":
                h = pre.relu_()
            else:
                h = pre
            outs.append(h)
        self.inputs, self.outs, self.saved = inputs, outs, saved
        logits = torch.addmm(self.bo, h, self.wo.t(), out=self.logits)
        if self.regression:
            diff = torch.sub(logits, y, out=self.glogits)
            self.loss = loss = torch.mean(diff * diff)
        else:
            logp = torch.log_softmax(logits, 1)
            self.logp = logp
            self.loss = loss = torch._C._nn.nll_loss(logp, y, None, 1, -100)  # mean
        return loss.item()

    def _output_grad(self, y: torch.Tensor) -> torch.Tensor:
        """d loss / d logits into self.glogits."""
        g = self.glogits
        if self.regression:  # glogits holds logits - y
            return g.mul_(2.0 / g.numel())
        torch.exp(self.logp, out=g)
        g.scatter_add_(1, y.view(-1, 1), self.neg)
        return g.mul_(1.0 / g.shape[0])

    def _act_backward(self, gh: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        act = self.activation
        if act == "sigmoid":
            return _sigmoid_backward(gh, h, grad_input=gh)
        if act == "tanh":
            return _tanh_backward(gh, h, grad_input=gh)
        if act == "relu":
            return _threshold_backward(gh, h, 0, grad_input=gh)
        return gh

    # -- backward + update
    def backward_update(self, y: torch.Tensor) -> None:
        """The fast path (plain SGD, no gradients wanted): each weight update is one addmm."""
        lr = -self.lr
        g = self._output_grad(y)
        layers, inputs, outs, saved = self.layers, self.inputs, self.outs, self.saved
        last = len(layers) - 1
        gh = torch.mm(g, self.wo, out=self.gh[last])
        self.wo.addmm_(g.t(), outs[last], alpha=lr)
        small = [torch.mv(g.t(), self.ones)]  # in the order of self.small_top_down
        for i in range(last, -1, -1):
            layer = layers[i]
            gpre = self._act_backward(gh, outs[i])
            if layer.bn:
                z, mean, invstd = saved[i]
                gz, dgamma, dbeta = _bn_backward(gpre, z, layer.gamma, layer.rmean, layer.rvar,
                                                 mean, invstd, True, layer.eps, layer.mask)
                if layer.learn_affine:
                    small.append(dgamma)
                    small.append(dbeta)
            else:
                gz = gpre
                small.append(torch.mv(gz.t(), self.ones))
            if i > 0:
                gh = torch.mm(gz, layer.w, out=self.gh[i - 1])
            layer.w.addmm_(gz.t(), inputs[i], alpha=lr)
        torch._foreach_add_(self.small_top_down, small, alpha=lr)

    def gradients(self, y: torch.Tensor) -> tuple:
        """All parameter gradients, in the order of `self.params` (fresh tensors)."""
        g = self._output_grad(y)
        layers, inputs, outs, saved = self.layers, self.inputs, self.outs, self.saved
        last = len(layers) - 1
        grad_of = {id(self.wo): torch.mm(g.t(), outs[last]), id(self.bo): g.sum(0)}
        gh = torch.mm(g, self.wo, out=self.gh[last])
        for i in range(last, -1, -1):
            layer = layers[i]
            gpre = self._act_backward(gh, outs[i])
            if layer.bn:
                z, mean, invstd = saved[i]
                gz, dgamma, dbeta = _bn_backward(gpre, z, layer.gamma, layer.rmean, layer.rvar,
                                                 mean, invstd, True, layer.eps, layer.mask)
                if layer.learn_affine:
                    grad_of[id(layer.gamma)], grad_of[id(layer.beta)] = dgamma, dbeta
            else:
                gz = gpre
                grad_of[id(layer.b)] = gz.sum(0)
            grad_of[id(layer.w)] = torch.mm(gz.t(), inputs[i])
            if i > 0:
                gh = torch.mm(gz, layer.w, out=self.gh[i - 1])
        return tuple(grad_of[id(p)] for p in self.params)

    def apply(self, grads: tuple) -> None:
        """SGD step with the given gradients: the trainer's optimiser if given, else ours."""
        if self.optimizer is not None:
            self.optimizer.step(grads)
            return
        with torch.no_grad():
            if self.buffers is None:
                torch._foreach_add_(self.params, grads, alpha=-self.lr)
            else:
                torch._foreach_mul_(self.buffers, self.momentum)
                torch._foreach_add_(self.buffers, grads)
                torch._foreach_add_(self.params, self.buffers, alpha=-self.lr)


class FusedTwinStep:
    """One SGD step of every net on the same batch, in place, as the autograd lockstep does.

    `optimizers_or_lrs`: per net, an optimiser with `.lr`, `.momentum` and `.step(grads)` (the
    trainer's SGD, so that momentum buffers stay shared with its autograd path), or a learning
    rate (momentum then comes from `config.momentum`).
    """

    def __init__(self, nets, optimizers_or_lrs, config):
        nets = list(nets.values()) if isinstance(nets, dict) else list(nets)
        why = fuse_refusal(config, nets)
        if why is not None:
            raise ValueError(f"FusedTwinStep cannot train these nets: {why}")
        if len(optimizers_or_lrs) != len(nets):
            raise ValueError(f"got {len(optimizers_or_lrs)} optimisers for {len(nets)} nets")
        regression = bool(getattr(config, "is_regression", False))
        self.nets = nets
        self._steps = []
        for net, opt in zip(nets, optimizers_or_lrs):
            if isinstance(opt, (int, float)):
                lr, momentum, optimizer = float(opt), float(getattr(config, "momentum", 0.0)), None
            else:
                lr, momentum, optimizer = float(opt.lr), float(getattr(opt, "momentum", 0.0)), opt
            if not math.isfinite(lr):
                raise ValueError(f"learning rate must be finite, got {lr}")
            self._steps.append(_NetStep(net, lr, optimizer, momentum, regression))

    @torch.no_grad()
    def step(self, xb: torch.Tensor, yb: torch.Tensor, want_grads: bool = False,
             traces: list | None = None):
        """One SGD step of every net on (xb, yb). Returns (losses before the update, grads):
        grads is None unless `want_grads`, else per net a tuple in the order of
        `[p for p in net.parameters() if p.requires_grad]`. A net whose loss is not finite is
        not updated (its grads entry is None), as the lockstep loop drops such a net.
        `traces`, if given, is one list per net, filled as `MLP.forward(x, trace)` fills it."""
        steps = self._steps
        losses = [s.forward(xb, yb, None if traces is None else traces[k])
                  for k, s in enumerate(steps)]
        grads = [] if want_grads else None
        for s, loss in zip(steps, losses):
            ok = math.isfinite(loss)
            if want_grads or s.momentum:
                g = s.gradients(yb) if ok else None
                if ok:
                    s.apply(g)
                if want_grads:
                    grads.append(g)
            elif ok:
                s.backward_update(yb)
        return losses, grads
