"""One SGD step of many runs' nets at once: the nets of one architecture stacked, a batched
matmul per layer.

Why: a toy twin step (2-32-32-32-2) is ~0.4 ms of per-op overhead and microseconds of
arithmetic, so thirty students' paced runs on one host cost thirty times the overhead. Stacked,
G nets take one `bmm` where each took one `mm`: a step of 30 such nets costs about what two
unstacked ones do (docs/benchmarks.md, section 16).

`BatchedStep(nets, lrs)` takes G nets of one architecture (all plain, or all with BN before
each nonlinearity; `batch_signature` says which nets may share one), each with its own batch and
learning rate, and does forward, backward and plain SGD for all of them. The nets keep their
own tensors: each step copies their parameters into stacks and the results back, so a net can
join or leave a batch at any step and step alone in between (its probe steps use the fused or
autograd step as before). The results are those of each net's own step up to float32 rounding
(tests/test_batched.py).
"""
from __future__ import annotations

import math

import torch

from bn_core.nets.fused import fuse_refusal
from bn_core.nets.models import MLP

_sigmoid_backward = torch.ops.aten.sigmoid_backward.default
_tanh_backward = torch.ops.aten.tanh_backward.default
_threshold_backward = torch.ops.aten.threshold_backward.default
_bn_backward = torch.ops.aten.native_batch_norm_backward.default


def batch_signature(config, net: MLP) -> tuple | None:
    """What nets must share to be stepped together (None: this net is never batched): the
    architecture, the batch size and the kind of step (plain SGD, classification)."""
    if fuse_refusal(config, [net]) is not None:
        return None
    if getattr(config, "momentum", 0.0) or getattr(config, "is_regression", False):
        return None
    norms = tuple((n.num_features, float(n.eps), float(0.1 if n.momentum is None else n.momentum),
                   n.affine_mode) for n in net.norms) if net.norm else None
    shapes = tuple(tuple(lin.weight.shape) for lin in net.linears) + (tuple(net.output.weight.shape),)
    return (shapes, net.activation, norms, int(config.batch_size),
            tuple(lin.bias is not None for lin in net.linears))


class BatchedStep:
    """Forward, backward and SGD of G nets of one architecture (see the module docstring)."""

    def __init__(self, nets: list[MLP], lrs: list[float]):
        if not nets:
            raise ValueError("no nets to step")
        if len(lrs) != len(nets):
            raise ValueError(f"got {len(lrs)} learning rates for {len(nets)} nets")
        self.nets = nets
        first = nets[0]
        self.bn = bool(first.norm)
        self.activation = first.activation
        self.depth = len(first.linears)
        self.g = len(nets)
        self.lr = torch.tensor([float(lr) for lr in lrs], dtype=torch.float32).view(-1, 1, 1)
        if not all(math.isfinite(float(lr)) for lr in lrs):
            raise ValueError("learning rates must be finite")
        # per layer, the tensors of every net (G lists), gathered into stacks each step
        self.w = [[n.linears[i].weight for n in nets] for i in range(self.depth)]
        self.b = [[n.linears[i].bias for n in nets] for i in range(self.depth)] \
            if not self.bn else None
        if self.bn:
            self.gamma = [[n.norms[i].weight for n in nets] for i in range(self.depth)]
            self.beta = [[n.norms[i].bias for n in nets] for i in range(self.depth)]
            self.rmean = [[n.norms[i].running_mean for n in nets] for i in range(self.depth)]
            self.rvar = [[n.norms[i].running_var for n in nets] for i in range(self.depth)]
            norm = first.norms[0]
            self.eps = float(norm.eps)
            self.momentum = 0.1 if norm.momentum is None else float(norm.momentum)
            self.learn_affine = bool(norm.weight.requires_grad)
        self.wo = [n.output.weight for n in nets]
        self.bo = [n.output.bias for n in nets]

    def _write_back(self, stack: torch.Tensor, tensors: list) -> None:
        """Queue a stack's rows to be copied back into the nets' tensors (one copy at the end)."""
        self._targets += tensors
        self._sources += stack.unbind(0)

    @torch.no_grad()
    def step(self, xs: torch.Tensor, ys: torch.Tensor) -> list[float]:
        """One step of every net: `xs` (G, B, inputs), `ys` (G, B) class indices. Returns each
        net's loss before its update; a net whose loss is not finite is left as it was (its
        forward did update BN's running statistics, as the unbatched step's does)."""
        g, batch = xs.shape[0], xs.shape[1]
        if g != self.g:
            raise ValueError(f"got batches for {g} nets; this step has {self.g}")
        if self.bn and batch == 1:
            raise ValueError("BN needs more than one example per batch in training")
        stack = torch.stack
        self._targets, self._sources = [], []
        ws = [stack(t) for t in self.w]
        wo, bo = stack(self.wo), stack(self.bo).unsqueeze(2)  # bias as a column
        act = self.activation
        inputs, outs, saved = [], [], []
        h = xs
        for i in range(self.depth):
            inputs.append(h)
            z = torch.bmm(h, ws[i].transpose(1, 2))
            if self.bn:
                # BN of G nets is BN of G x width channels: the (B, G*W) layout lets ATen's
                # own kernels (as the fused step calls them) compute every net's statistics
                width = z.shape[2]
                z_t = z.transpose(0, 1).reshape(batch, g * width)
                gamma, beta = stack(self.gamma[i]), stack(self.beta[i])  # (G, W)
                rmean, rvar = stack(self.rmean[i]), stack(self.rvar[i])
                out_t, mean, invstd = torch.native_batch_norm(
                    z_t, gamma.view(-1), beta.view(-1), rmean.view(-1), rvar.view(-1), True,
                    self.momentum, self.eps)
                self._write_back(rmean, self.rmean[i])
                self._write_back(rvar, self.rvar[i])
                out = out_t.view(batch, g, width).transpose(0, 1)
                saved.append((z_t, gamma, beta, rmean, rvar, mean, invstd))
            else:
                bias = stack(self.b[i]).unsqueeze(1)
                out = z.add_(bias)
                saved.append(bias)
            if act == "sigmoid":
                out = out.sigmoid_()
            elif act == "tanh":
                out = out.tanh_()
            elif act == "relu":
                out = out.relu_()
            outs.append(out)
            h = out
        # logits transposed (G, classes, batch), as the fused step has them: the output bias's
        # gradient is then a sum along contiguous memory, as accurate as the fused step's
        logits_t = torch.baddbmm(bo, wo, h.transpose(1, 2))
        logp = torch.log_softmax(logits_t, 1)
        picked = logp.gather(1, ys.unsqueeze(1))
        losses = (-picked.mean((1, 2))).tolist()
        finite = [math.isfinite(v) for v in losses]
        keep = None if all(finite) else torch.tensor(finite).view(-1, 1, 1)
        lr = self.lr

        def update(param: torch.Tensor, grad: torch.Tensor) -> None:
            if keep is not None:  # a diverged net's gradients may be nan: nan * 0 is nan
                grad = torch.where(keep, grad, torch.zeros((), dtype=grad.dtype))
            param.sub_(grad * lr)

        # d loss / d logits (mean cross-entropy over the batch), transposed
        gl = logp.exp_().mul_(1.0 / batch)  # times 1/B, not / B: as -1/B below, exactly
        gl.scatter_add_(1, ys.unsqueeze(1), torch.full((g, 1, batch), -1.0 / batch))
        gh = torch.bmm(gl.transpose(1, 2), wo)
        update(wo, torch.bmm(gl, h))
        update(bo, gl.sum(2, keepdim=True))
        self._write_back(wo, self.wo)
        self._write_back(bo.squeeze(2), self.bo)
        for i in range(self.depth - 1, -1, -1):
            out = outs[i]
            if act == "sigmoid":
                gh = _sigmoid_backward(gh, out)
            elif act == "tanh":
                gh = _tanh_backward(gh, out)
            elif act == "relu":
                gh = _threshold_backward(gh, out, 0)
            if self.bn:
                z_t, gamma, beta, rmean, rvar, mean, invstd = saved[i]
                width = z_t.shape[1] // g
                gz_t, dgamma, dbeta = _bn_backward(
                    gh.transpose(0, 1).reshape(batch, g * width), z_t, gamma.view(-1),
                    rmean.view(-1), rvar.view(-1), mean, invstd, True, self.eps,
                    [True, self.learn_affine, self.learn_affine])
                gz = gz_t.view(batch, g, width).transpose(0, 1)
                if self.learn_affine:
                    update(gamma.unsqueeze(1), dgamma.view(g, 1, width))
                    update(beta.unsqueeze(1), dbeta.view(g, 1, width))
                    self._write_back(gamma, self.gamma[i])
                    self._write_back(beta, self.beta[i])
            else:
                gz = gh
                bias = saved[i]
                update(bias, gz.sum(1, keepdim=True))
                self._write_back(bias.squeeze(1), self.b[i])
            if i > 0:
                gh = torch.bmm(gz, ws[i])
            update(ws[i], torch.bmm(gz.transpose(1, 2), inputs[i]))
            self._write_back(ws[i], self.w[i])
        torch._foreach_copy_(self._targets, self._sources)
        self._targets = self._sources = None
        return losses
