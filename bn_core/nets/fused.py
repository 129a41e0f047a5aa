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
FOLD_MIN = 16  # see _NetStep.__init__

_aten = torch.ops.aten
_sigmoid_backward = _aten.sigmoid_backward.grad_input
_tanh_backward = _aten.tanh_backward.grad_input
_threshold_backward = _aten.threshold_backward.grad_input
_bn_backward = _aten.native_batch_norm_backward.default
_bn_backward_out = _aten.native_batch_norm_backward.out


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
    """Forward and backward of one MLP in torch ops, into buffers kept per batch size.

    Transposed views (of weights and buffers) are made once: a `.t()` per matmul would cost as
    much as a toy net's matmul itself."""

    def __init__(self, net: MLP, lr: float, optimizer, momentum: float, regression: bool):
        self.net, self.lr, self.optimizer, self.regression = net, float(lr), optimizer, regression
        self.momentum = momentum
        norms = list(net.norms) if net.norm else [None] * net.depth
        self.layers = [_Layer(lin, norm) for lin, norm in zip(net.linears, norms)]
        self.wo, self.bo = net.output.weight, net.output.bias
        self.activation = net.activation
        self.act_ = {"sigmoid": torch.Tensor.sigmoid_, "tanh": torch.Tensor.tanh_,
                     "relu": torch.Tensor.relu_, "linear": None}[net.activation]
        self.act_backward = {"sigmoid": _sigmoid_backward, "tanh": _tanh_backward,
                             "relu": None, "linear": None}[net.activation]
        self.params = [p for p in net.parameters() if p.requires_grad]
        # The fast path folds a weight's update into its gradient's matmul (W.addmm_) only for
        # matrices of at least FOLD_MIN rows and columns: on thinner ones (the output layer, a
        # 2-D input layer, biases) torch's small-matrix addmm accumulates into W term by term,
        # ~10x the rounding of mm-then-add. Those get their gradient into a buffer and one
        # foreach update, as autograd's path does.
        self.fold = [min(l.w.shape) >= FOLD_MIN for l in self.layers]
        self.fold_out = min(self.wo.shape) >= FOLD_MIN
        small = [] if self.fold_out else [self.wo]
        small.append(self.bo)
        for l, fold in zip(self.layers, self.fold):
            small += [] if fold else [l.w]
            small += [l.b] if l.b is not None else []
            small += [l.gamma, l.beta] if l.bn and l.learn_affine else []
        self.small = small
        self._slot = {id(t): k for k, t in enumerate(small)}
        self.buffers = None if optimizer is not None or not momentum else \
            [torch.zeros_like(p) for p in self.params]
        self._batch, self._ptrs = -1, None
        self.x = self.loss = self.logp = None
        self.inputs: list = []   # what each hidden layer multiplied (x, h_1, ...)
        self.inputs_t: list = []  # the same, transposed

    def _views(self) -> None:
        """(Re)make the views of the parameters: after anything replaced their storage."""
        self.wt = [l.w.t() for l in self.layers]
        self.b_row = [None if l.b is None else l.b.view(1, -1) for l in self.layers]
        self.wo_t, self.bo_row = self.wo.t(), self.bo.view(1, -1)
        self._ptrs = self._storage()

    def _storage(self) -> tuple:
        return tuple(t.data_ptr() for t in [l.w for l in self.layers] + [self.wo, self.bo]
                     + [l.b for l in self.layers if l.b is not None])

    def _alloc(self, batch: int) -> None:
        width, n_out = self.layers[0].w.shape[0], self.wo.shape[0]
        new = lambda *shape: torch.empty(*shape)  # noqa: E731
        self.h = [new(batch, width) for _ in self.layers]   # each layer's output (activation)
        self.h_t = [h.t() for h in self.h]
        self.z = [new(batch, width) if l.bn else None for l in self.layers]  # BN's input
        self.gh = [new(batch, width) for _ in self.layers]  # d loss / d layer output
        self.gh_t = [g.t() for g in self.gh]
        self.gz = [new(batch, width) if l.bn else None for l in self.layers]  # through BN
        self.gz_t = [None if g is None else g.t() for g in self.gz]
        self.stats = [(new(width), new(width)) if l.bn else None for l in self.layers]
        self.small_grads = [torch.empty_like(t) for t in self.small]
        self.logits = new(batch, n_out)
        self.glogits = new(batch, n_out)
        self.glogits_t = self.glogits.t()
        self.ones_row = torch.ones(1, batch)
        self.ones = self.ones_row.view(-1)
        self.neg = torch.full((batch, 1), -1.0 / batch)
        self._batch = batch

    # -- forward
    def forward(self, x: torch.Tensor, y: torch.Tensor, trace: list | None) -> float:
        """The loss on (x, y); updates BN's running statistics as F.batch_norm does."""
        if x.shape[0] != self._batch:
            self._alloc(x.shape[0])
        if self._ptrs is None or self._storage() != self._ptrs:
            self._views()
        act_ = self.act_
        self.x, inputs, inputs_t = x, [], []
        h, h_t = x, None
        for i, layer in enumerate(self.layers):
            inputs.append(h)
            inputs_t.append(h_t)
            out = self.h[i]
            if layer.bn:
                z = torch.mm(h, self.wt[i], out=self.z[i])
                mean, invstd = self.stats[i]
                torch.native_batch_norm(z, layer.gamma, layer.beta, layer.rmean, layer.rvar,
                                        True, layer.momentum, layer.eps,
                                        out=(out, mean, invstd))
            else:
                z = torch.addmm(layer.b, h, self.wt[i], out=out)
            if trace is not None:
                record = {"z": z.clone()}
                if layer.bn:
                    record["bn_in"] = record["z"]
                    record["pre"] = out.clone()
                else:
                    record["pre"] = record["z"]
                trace.append(record)
            if act_ is not None:
                act_(out)
            h, h_t = out, self.h_t[i]
        self.inputs, self.inputs_t = inputs, inputs_t
        logits = torch.addmm(self.bo, h, self.wo_t, out=self.logits)
        if self.regression:
            diff = torch.sub(logits, y, out=self.glogits)
            self.loss = loss = torch.mean(diff * diff)
        else:
            self.logp = torch.log_softmax(logits, 1)
            self.loss = loss = torch._C._nn.nll_loss(self.logp, y, None, 1, -100)  # mean
        return loss.item()

    def _output_grad(self, y: torch.Tensor) -> torch.Tensor:
        """d loss / d logits into self.glogits."""
        g = self.glogits
        if self.regression:  # glogits holds logits - y
            return g.mul_(2.0 / g.numel())
        # in autograd's order (log_softmax backward of nll's -1/B): p / B, then - 1/B
        torch.exp(self.logp, out=g).mul_(1.0 / g.shape[0])
        return g.scatter_add_(1, y.view(-1, 1), self.neg)

    def _through_activation(self, i: int) -> torch.Tensor:
        """d loss / d (the activation's input) of layer i, in place in gh[i]."""
        gh, h = self.gh[i], self.h[i]
        if self.act_backward is not None:
            return self.act_backward(gh, h, grad_input=gh)
        if self.activation == "relu":
            return _threshold_backward(gh, h, 0, grad_input=gh)
        return gh

    def _through_bn(self, i: int, layer: _Layer, gpre: torch.Tensor):
        """(d loss / d z, d gamma, d beta) of BN layer i; the first into gz[i] when possible."""
        mean, invstd = self.stats[i]
        if layer.learn_affine:
            dgamma = self.small_grads[self._slot[id(layer.gamma)]]
            dbeta = self.small_grads[self._slot[id(layer.beta)]]
            _bn_backward_out(gpre, self.z[i], layer.gamma, layer.rmean, layer.rvar, mean, invstd,
                             True, layer.eps, layer.mask, out0=self.gz[i], out1=dgamma,
                             out2=dbeta)
            return self.gz[i], self.gz_t[i], dgamma, dbeta
        gz = _bn_backward(gpre, self.z[i], layer.gamma, layer.rmean, layer.rvar, mean, invstd,
                          True, layer.eps, layer.mask)[0]
        return gz, gz.t(), None, None

    # -- backward + update
    def backward_update(self, y: torch.Tensor) -> None:
        """The fast path (plain SGD, no gradients wanted): W <- W - lr g^T x as one addmm per
        (large enough) weight matrix; one foreach update for everything else."""
        lr = -self.lr
        g = self._output_grad(y)
        layers, inputs, slot, grads = self.layers, self.inputs, self._slot, self.small_grads
        last = len(layers) - 1
        gh = torch.mm(g, self.wo, out=self.gh[last])
        if self.fold_out:
            self.wo.addmm_(self.glogits_t, self.h[last], alpha=lr)
        else:
            torch.mm(self.glogits_t, self.h[last], out=grads[slot[id(self.wo)]])
        torch.sum(g, 0, out=grads[slot[id(self.bo)]])
        for i in range(last, -1, -1):
            layer = layers[i]
            gpre = self._through_activation(i)
            if layer.bn:
                gz, gz_t = self._through_bn(i, layer, gpre)[:2]
            else:
                gz, gz_t = gpre, self.gh_t[i]
                torch.sum(gz, 0, out=grads[slot[id(layer.b)]])
            if i > 0:
                gh = torch.mm(gz, layer.w, out=self.gh[i - 1])
            if self.fold[i]:
                layer.w.addmm_(gz_t, inputs[i], alpha=lr)
            else:
                torch.mm(gz_t, inputs[i], out=grads[slot[id(layer.w)]])
        torch._foreach_add_(self.small, grads, alpha=lr)

    def gradients(self, y: torch.Tensor) -> tuple:
        """All parameter gradients, in the order of `self.params` (fresh tensors)."""
        g = self._output_grad(y)
        layers, inputs = self.layers, self.inputs
        last = len(layers) - 1
        grad_of = {id(self.wo): torch.mm(self.glogits_t, self.h[last]), id(self.bo): g.sum(0)}
        gh = torch.mm(g, self.wo, out=self.gh[last])
        for i in range(last, -1, -1):
            layer = layers[i]
            gpre = self._through_activation(i)
            if layer.bn:
                gz, gz_t, dgamma, dbeta = self._through_bn(i, layer, gpre)
                if layer.learn_affine:
                    grad_of[id(layer.gamma)], grad_of[id(layer.beta)] = \
                        dgamma.clone(), dbeta.clone()
            else:
                gz, gz_t = gpre, self.gh_t[i]
                grad_of[id(layer.b)] = gz.sum(0)
            grad_of[id(layer.w)] = torch.mm(gz_t, inputs[i])
            if i > 0:
                gh = torch.mm(gz, layer.w, out=self.gh[i - 1])
        return tuple(grad_of[id(p)] for p in self.params)

    def apply(self, grads: tuple) -> None:
        """SGD step with the given gradients: the trainer's optimiser if given, else ours."""
        if self.optimizer is not None:
            self.optimizer.step(grads)
            return
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
        self._bn_width = next((n.norms[0].num_features for n in nets if n.norm), 0)

    @torch.no_grad()
    def step(self, xb: torch.Tensor, yb: torch.Tensor, want_grads: bool = False,
             traces: list | None = None):
        """One SGD step of every net on (xb, yb). Returns (losses before the update, grads):
        grads is None unless `want_grads`, else per net a tuple in the order of
        `[p for p in net.parameters() if p.requires_grad]`. A net whose loss is not finite is
        not updated (its grads entry is None), as the lockstep loop drops such a net.
        `traces`, if given, is one list per net, filled as `MLP.forward(x, trace)` fills it."""
        steps = self._steps
        if xb.shape[0] == 1 and self._bn_width:  # as F.batch_norm refuses it
            raise ValueError("Expected more than 1 value per channel when training, got input "
                             f"size {torch.Size([1, self._bn_width])}")
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
