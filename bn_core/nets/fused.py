"""A hand-written training step for a run's twin MLPs: forward, backward and SGD in torch ops,
without autograd, for the common configurations (plain and BN-before nets, no noise/dropout).

Why: these nets are tiny, so much of a step's time is per-op overhead (autograd's graph,
Python), not arithmetic. This step calls the ATen kernels autograd would (native_batch_norm and
its backward, sigmoid_backward, ...) into preallocated buffers and, for plain SGD, folds the
update of each large weight matrix into its gradient's matmul (W <- W - lr g^T x, one addmm), so
it gives the autograd step's results up to float rounding (tests/test_fused.py: as close to a
float64 run as float32 autograd is) at a fraction of the overhead (docs/benchmarks.md, section 6).

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

# ATen's own backward kernels (what autograd calls), as raw operator handles: the OpOverload
# wrappers' Python layer costs about as much as these kernels on a toy net.
_aten = torch.ops.aten
_sigmoid_backward = _aten.sigmoid_backward.grad_input._op
_tanh_backward = _aten.tanh_backward.grad_input._op
_threshold_backward = _aten.threshold_backward.grad_input._op
_bn_backward = _aten.native_batch_norm_backward.default._op


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
        if net.norm not in (None, False, True, "bn"):
            return f"norm layer {net.norm!r} is not fused (only BN)"
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

    Everything a step touches (transposed views of weights and buffers, gradient slots) is laid
    out once per batch size in per-layer tuples, so the step itself is torch calls on local
    names: on a toy net a `.t()` or a dictionary lookup per matmul costs as much as the matmul."""

    def __init__(self, net: MLP, lr: float, optimizer, momentum: float, regression: bool):
        self.net, self.lr, self.optimizer, self.regression = net, float(lr), optimizer, regression
        self.momentum = momentum
        norms = list(net.norms) if net.norm else [None] * net.depth
        self.layers = [_Layer(lin, norm) for lin, norm in zip(net.linears, norms)]
        self.wo, self.bo = net.output.weight, net.output.bias
        self.activation = net.activation
        self.act_ = {"sigmoid": torch.Tensor.sigmoid_, "tanh": torch.Tensor.tanh_,
                     "relu": torch.Tensor.relu_, "linear": None}[net.activation]
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
        self.buffers = None if optimizer is not None or not momentum else \
            [torch.zeros_like(p) for p in self.params]
        self._weights = [l.w for l in self.layers] + [self.wo]
        self._batch, self._ptrs = -1, None
        self.x = self.loss = self.logp = None

    def _storage(self) -> tuple:
        """Where the weights live: the plans hold transposed views of them (other parameters
        are used directly, so a replaced storage matters only here)."""
        return tuple([w.data_ptr() for w in self._weights])

    def _layout(self, batch: int) -> None:
        """Buffers for this batch size and the per-layer plans (after anything replaced the
        parameters' storage, too: the plans hold views of them)."""
        width, n_out = self.layers[0].w.shape[0], self.wo.shape[0]
        new = torch.empty
        self.small_grads = grads = [torch.empty_like(t) for t in self.small]
        slot = {id(t): g for t, g in zip(self.small, grads)}
        index = {id(t): k for k, t in enumerate(self.small)}  # gamma's; beta's is the next
        self.h = h = [new(batch, width) for _ in self.layers]  # each layer's output
        self.z = [new(batch, width) if l.bn else None for l in self.layers]  # BN's input
        self.stats = [(new(width), new(width)) if l.bn else None for l in self.layers]
        gh = [new(batch, width) for _ in self.layers]  # d loss / d layer output
        self.forward_plan, self.backward_plan = [], []
        for i, l in enumerate(self.layers):
            mean, invstd = self.stats[i] or (None, None)
            self.forward_plan.append((l.bn, l.w.t(), l.b, self.z[i], h[i], l.gamma if l.bn
                                      else None, l.beta if l.bn else None, l.rmean if l.bn
                                      else None, l.rvar if l.bn else None, l.momentum if l.bn
                                      else 0.0, l.eps if l.bn else 0.0, mean, invstd))
            affine_at = index[id(l.gamma)] if l.bn and l.learn_affine else None
            self.backward_plan.append((
                l, gh[i], h[i], gh[i].t(), gh[i - 1] if i > 0 else None, l.w, self.fold[i],
                None if self.fold[i] else slot[id(l.w)], None if l.b is None else slot[id(l.b)],
                mean, invstd, affine_at))
        self.gh_top = gh[-1]
        self.wo_grad = None if self.fold_out else slot[id(self.wo)]
        self.bo_grad = slot[id(self.bo)]
        # the output layer works on transposed logits (classes x batch): log_softmax along
        # dim 0 of (10, 60) is ~4x faster than along dim 1 of (60, 10) (22x at 1,000 rows)
        self.h_top_t = h[-1].t()
        self.bo_col = self.bo.view(-1, 1)
        self.logits_t = new(n_out, batch)
        self.glogits_t = new(n_out, batch)
        self.glogits = self.glogits_t.t()
        self.neg = torch.full((1, batch), -1.0 / batch)
        self._batch, self._ptrs = batch, self._storage()

    # -- forward
    def forward(self, x: torch.Tensor, y: torch.Tensor, trace: list | None) -> float:
        """The loss on (x, y); updates BN's running statistics as F.batch_norm does."""
        if x.shape[0] != self._batch or self._storage() != self._ptrs:
            self._layout(x.shape[0])
        act_, mm, addmm, bn = self.act_, torch.mm, torch.addmm, torch.native_batch_norm
        self.x = h = x
        for is_bn, wt, b, z, out, gamma, beta, rmean, rvar, momentum, eps, mean, invstd \
                in self.forward_plan:
            if is_bn:
                mm(h, wt, out=z)
                bn(z, gamma, beta, rmean, rvar, True, momentum, eps, out=(out, mean, invstd))
            else:
                z = addmm(b, h, wt, out=out)
            if trace is not None:
                record = {"z": z.clone()}
                record["pre"] = out.clone() if is_bn else record["z"]
                if is_bn:
                    record["bn_in"] = record["z"]
                trace.append(record)
            if act_ is not None:
                act_(out)
            h = out
        logits_t = addmm(self.bo_col, self.wo, self.h_top_t, out=self.logits_t)
        if self.regression:
            diff = torch.sub(logits_t, y.t(), out=self.glogits_t)
            self.loss = loss = torch.mean(diff * diff)
        else:
            self.logp = torch.log_softmax(logits_t, 0)
            self.loss = loss = torch._C._nn.nll_loss(self.logp.t(), y, None, 1, -100)  # mean
        return loss.item()

    def _output_grad(self, y: torch.Tensor) -> torch.Tensor:
        """d loss / d logits, transposed (classes x batch), into self.glogits_t."""
        g = self.glogits_t
        if self.regression:  # it holds logits - y
            return g.mul_(2.0 / g.numel())
        # in autograd's order (log_softmax backward of nll's -1/B): p / B, then - 1/B
        torch.exp(self.logp, out=g).mul_(1.0 / g.shape[1])
        return g.scatter_add_(0, y.view(1, -1), self.neg)

    def _backward(self, y: torch.Tensor, fold: bool):
        """Backpropagate; `fold`: update weights in place (W.addmm_) where allowed and leave
        the other gradients in self.small_grads; else return every gradient, fresh."""
        lr = -self.lr
        g = self._output_grad(y)
        act, mm, total, grads = self.activation, torch.mm, torch.sum, self.small_grads
        inputs = [self.x] + self.h[:-1]
        grad_of = None if fold else {}
        torch.mm(self.glogits, self.wo, out=self.gh_top)
        if fold:
            if self.wo_grad is None:
                self.wo.addmm_(g, self.h[-1], alpha=lr)
            else:
                mm(g, self.h[-1], out=self.wo_grad)
            total(g, 1, out=self.bo_grad)
        else:
            grad_of[id(self.wo)] = mm(g, self.h[-1])
            grad_of[id(self.bo)] = g.sum(1)
        for i in range(len(self.backward_plan) - 1, -1, -1):
            layer, gh, out, gh_t, gh_below, w, fold_w, w_grad, b_grad, mean, invstd, \
                affine_at = self.backward_plan[i]
            if act == "sigmoid":
                _sigmoid_backward(gh, out, grad_input=gh)
            elif act == "tanh":
                _tanh_backward(gh, out, grad_input=gh)
            elif act == "relu":
                _threshold_backward(gh, out, 0, grad_input=gh)
            if layer.bn:
                gz, dgamma, dbeta = _bn_backward(gh, self.z[i], layer.gamma, layer.rmean,
                                                 layer.rvar, mean, invstd, True, layer.eps,
                                                 layer.mask)
                gz_t = gz.t()
                if affine_at is not None:
                    if fold:
                        grads[affine_at], grads[affine_at + 1] = dgamma, dbeta
                    else:
                        grad_of[id(layer.gamma)], grad_of[id(layer.beta)] = dgamma, dbeta
            else:
                gz, gz_t = gh, gh_t
                if fold:
                    total(gz, 0, out=b_grad)
                else:
                    grad_of[id(layer.b)] = gz.sum(0)
            if gh_below is not None:
                mm(gz, w, out=gh_below)
            if not fold:
                grad_of[id(w)] = mm(gz_t, inputs[i])
            elif fold_w:
                w.addmm_(gz_t, inputs[i], alpha=lr)
            else:
                mm(gz_t, inputs[i], out=w_grad)
        return grad_of

    # -- backward + update
    def backward_update(self, y: torch.Tensor) -> None:
        """The fast path (plain SGD, no gradients wanted): W <- W - lr g^T x as one addmm per
        (large enough) weight matrix; one foreach update for everything else."""
        self._backward(y, fold=True)
        torch._foreach_add_(self.small, self.small_grads, alpha=-self.lr)

    def gradients(self, y: torch.Tensor) -> tuple:
        """All parameter gradients, in the order of `self.params` (fresh tensors)."""
        grad_of = self._backward(y, fold=False)
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
        not updated (its grads entry is None; its forward did update BN's running statistics,
        as the autograd loop's does), as the lockstep loop drops such a net.
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
