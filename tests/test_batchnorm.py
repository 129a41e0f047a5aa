"""Tests for bn_core.nets.batchnorm: the checks of experiments.md section 4, and more."""

from dataclasses import FrozenInstanceError

import numpy as np
import pytest
import torch

from bn_core.nets.batchnorm import (
    DEFAULT_EPS,
    GRAPH_NODE_NAMES,
    BatchNorm1d,
    GraphNode,
    batchnorm_backward,
    batchnorm_backward_graph,
    batchnorm_forward,
    channel_statistics,
    groupnorm_backward,
    groupnorm_forward,
    layernorm_backward,
    layernorm_forward,
    inference_affine,
    numerical_gradient,
    population_statistics,
    relative_error,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
    staged_forward,
)

GRADCHECK_TOL = 1e-8  # experiments.md section 4: float64 relative errors land in (1e-13, 1e-8)
EPS_NEGLIGIBLE = 1e-300  # eps must be > 0; this one vanishes in var + eps (var ~ 25), i.e. eps = 0


def classic_case(seed=0, n=4, d=5):
    """x = 5*randn + 12 with N, D = 4, 5, random gamma, beta and upstream gradient dy."""
    rng = np.random.default_rng(seed)
    x = 5 * rng.standard_normal((n, d)) + 12
    gamma = rng.standard_normal(d)
    beta = rng.standard_normal(d)
    dy = rng.standard_normal((n, d))
    return x, gamma, beta, dy


def numerical_bn_gradients(x, gamma, beta, dy, eps=DEFAULT_EPS):
    ndx = numerical_gradient(lambda v: batchnorm_forward(v, gamma, beta, eps)[0], x, dy)
    ndgamma = numerical_gradient(lambda v: batchnorm_forward(x, v, beta, eps)[0], gamma, dy)
    ndbeta = numerical_gradient(lambda v: batchnorm_forward(x, gamma, v, eps)[0], beta, dy)
    return ndx, ndgamma, ndbeta


# --------------------------------------------------------------------------- forward


def test_forward_unit_gamma_zero_beta_standardises_each_feature():
    rng = np.random.default_rng(1)
    x = 3.0 * rng.standard_normal((200, 3)) + np.array([-5.0, 0.0, 40.0])
    y, _ = batchnorm_forward(x, np.ones(3), np.zeros(3))
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=0), 1.0, atol=1e-5)  # eps shrinks std by ~eps/(2 var)


def test_forward_gamma_beta_set_the_output_std_and_mean():
    rng = np.random.default_rng(2)
    x = 10.0 * rng.standard_normal((200, 3)) + 7.0
    y, _ = batchnorm_forward(x, (1, 2, 3), (11, 12, 13))
    np.testing.assert_allclose(y.mean(axis=0), [11, 12, 13], atol=1e-12)
    np.testing.assert_allclose(y.std(axis=0), [1, 2, 3], rtol=1e-6)


def test_forward_uses_biased_batch_variance():
    x = np.array([[1.0], [3.0]])  # mean 2, biased var 1 (unbiased would be 2)
    y, cache = batchnorm_forward(x, [1.0], [0.0], eps=1e-12)
    assert cache.var[0] == pytest.approx(1.0)
    np.testing.assert_allclose(y[:, 0], [-1.0, 1.0], atol=1e-9)


# --------------------------------------------------------------------------- backward


@pytest.mark.parametrize("backward", ["compact", "graph"])
def test_gradient_check_classic_case(backward):
    x, gamma, beta, dy = classic_case(seed=0)
    _, cache = batchnorm_forward(x, gamma, beta)
    if backward == "compact":
        dx, dgamma, dbeta = batchnorm_backward(dy, cache)
    else:
        dx, dgamma, dbeta, _ = batchnorm_backward_graph(dy, cache)
    ndx, ndgamma, ndbeta = numerical_bn_gradients(x, gamma, beta, dy)
    for name, analytic, numeric in [("dx", dx, ndx), ("dgamma", dgamma, ndgamma), ("dbeta", dbeta, ndbeta)]:
        err = relative_error(analytic, numeric)
        assert err < GRADCHECK_TOL, f"{name}: relative error {err:.2e}"


def test_gradient_check_holds_over_many_draws_normwise():
    # The elementwise relative error blows up on dx entries that happen to be near 0
    # (finite-difference round-off ~1e-11 against a tiny true value); normwise it is tight.
    for seed in range(40):
        x, gamma, beta, dy = classic_case(seed=seed)
        _, cache = batchnorm_forward(x, gamma, beta)
        dx, dgamma, dbeta = batchnorm_backward(dy, cache)
        ndx, ndgamma, ndbeta = numerical_bn_gradients(x, gamma, beta, dy)
        for analytic, numeric in [(dx, ndx), (dgamma, ndgamma), (dbeta, ndbeta)]:
            assert np.max(np.abs(analytic - numeric)) <= 1e-8 * np.max(np.abs(analytic)), seed


def test_gradient_check_detects_a_wrong_gradient():
    x, gamma, beta, dy = classic_case(seed=0)
    _, cache = batchnorm_forward(x, gamma, beta)
    dx, _, _ = batchnorm_backward(dy, cache)
    naive = gamma * dy * cache.invstd  # ignores that mu and var depend on x
    ndx = numerical_gradient(lambda v: batchnorm_forward(v, gamma, beta)[0], x, dy)
    assert relative_error(dx, ndx) < GRADCHECK_TOL
    assert relative_error(naive, ndx) > 1e-2


def test_paper_four_step_backward_equals_compact_form():
    x, gamma, beta, dy = classic_case(seed=3)
    eps = DEFAULT_EPS
    _, cache = batchnorm_forward(x, gamma, beta, eps)
    m = x.shape[0]
    mu, var = x.mean(axis=0), x.var(axis=0)
    g = gamma * dy
    dvar = np.sum(g * (x - mu), axis=0) * -0.5 * (var + eps) ** -1.5
    dmu = np.sum(-g / np.sqrt(var + eps), axis=0) + dvar * np.sum(-2 * (x - mu), axis=0) / m
    dx_paper = g / np.sqrt(var + eps) + dvar * 2 * (x - mu) / m + dmu / m
    dx, _, _ = batchnorm_backward(dy, cache)
    np.testing.assert_allclose(dx, dx_paper, rtol=0, atol=1e-13)


def test_dx_sums_to_zero_and_is_orthogonal_to_xhat_when_eps_is_zero():
    x, gamma, beta, dy = classic_case(seed=4)
    assert np.all(x.var(axis=0) + EPS_NEGLIGIBLE == x.var(axis=0))  # effectively eps = 0
    _, cache = batchnorm_forward(x, gamma, beta, eps=EPS_NEGLIGIBLE)
    dx, _, _ = batchnorm_backward(dy, cache)
    assert np.max(np.abs(dx)) > 1e-3  # the identities are not trivially satisfied
    np.testing.assert_allclose(dx.sum(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose((dx * cache.xhat).sum(axis=0), 0.0, atol=1e-10)


def test_with_positive_eps_dx_is_not_orthogonal_to_xhat_by_the_predicted_amount():
    x, gamma, beta, dy = classic_case(seed=4)
    x = x / 5e3  # var ~ 1e-6, so eps = 1e-5 matters
    eps = DEFAULT_EPS
    _, cache = batchnorm_forward(x, gamma, beta, eps)
    dx, _, _ = batchnorm_backward(dy, cache)
    np.testing.assert_allclose(dx.sum(axis=0), 0.0, atol=1e-10 * np.max(np.abs(dx)))
    # sum_i dx_i xhat_i = sum_i g_i xhat_i * eps / ((var + eps) sqrt(var + eps))
    predicted = (gamma * dy * cache.xhat).sum(axis=0) * eps / ((cache.var + eps) * cache.std)
    np.testing.assert_allclose((dx * cache.xhat).sum(axis=0), predicted, rtol=1e-9)
    assert np.min(np.abs(predicted)) > 1e-3


# --------------------------------------------------------------------------- staged graph


def test_graph_has_nine_nodes_in_forward_order():
    x, gamma, beta, dy = classic_case(seed=5)
    _, cache = batchnorm_forward(x, gamma, beta)
    *_, nodes = batchnorm_backward_graph(dy, cache)
    assert [n.name for n in nodes] == list(GRAPH_NODE_NAMES)
    assert GRAPH_NODE_NAMES == ("mu", "xmu", "sq", "var", "std", "invstd", "xhat", "gxhat", "y")
    n, d = x.shape
    expected_shapes = {"mu": (d,), "var": (d,), "std": (d,), "invstd": (d,)}
    for node in nodes:
        assert isinstance(node, GraphNode)
        assert node.formula and node.grad_formula
        assert node.value.shape == node.grad.shape == expected_shapes.get(node.name, (n, d))
        with pytest.raises(FrozenInstanceError):
            node.name = "changed"
        assert not node.value.flags.writeable and not node.grad.flags.writeable
    values = {node.name: node.value for node in nodes}
    np.testing.assert_allclose(values["mu"], x.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(values["var"], x.var(axis=0), rtol=1e-12)
    np.testing.assert_allclose(values["y"], batchnorm_forward(x, gamma, beta)[0], rtol=0, atol=0)


def test_graph_result_equals_compact_result():
    for seed in range(10):
        x, gamma, beta, dy = classic_case(seed=seed, n=6, d=3)
        _, cache = batchnorm_forward(x, gamma, beta)
        compact = batchnorm_backward(dy, cache)
        graph = batchnorm_backward_graph(dy, cache)[:3]
        for a, b in zip(compact, graph):
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-12)


def test_every_graph_node_gradient_matches_centred_differences():
    x, gamma, beta, dy = classic_case(seed=6)
    eps = DEFAULT_EPS
    _, cache = batchnorm_forward(x, gamma, beta, eps)
    *_, nodes = batchnorm_backward_graph(dy, cache)
    checked = []
    for node in nodes:
        numeric = numerical_gradient(
            lambda v, name=node.name: staged_forward(x, gamma, beta, eps, {name: v}), node.value, dy
        )
        scale = np.max(np.abs(node.grad))
        assert scale > 0, node.name
        assert np.max(np.abs(node.grad - numeric)) <= 1e-7 * scale, node.name
        checked.append(node.name)
    assert {"xhat", "var", "mu"} <= set(checked)


# --------------------------------------------------------------------------- against torch


def torch_bn1d(d, gamma, beta, momentum=0.1, affine=True):
    layer = torch.nn.BatchNorm1d(d, eps=DEFAULT_EPS, momentum=momentum, affine=affine, dtype=torch.float64)
    if affine:
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(gamma))
            layer.bias.copy_(torch.from_numpy(beta))
    return layer


def torch_forward_backward(layer, x, dy):
    xt = torch.tensor(x, requires_grad=True)
    yt = layer(xt)
    yt.backward(torch.from_numpy(dy))
    return yt.detach().numpy(), xt.grad.numpy()


@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
def test_batchnorm1d_matches_torch_over_several_batches(momentum):
    rng = np.random.default_rng(7)
    d = 4
    gamma, beta = rng.standard_normal(d), rng.standard_normal(d)
    ours = BatchNorm1d(d, momentum=momentum)
    ours.gamma, ours.beta = gamma.copy(), beta.copy()
    ref = torch_bn1d(d, gamma, beta, momentum=momentum)
    for step, m in enumerate([8, 3, 16, 2, 5]):
        x = 3 * rng.standard_normal((m, d)) + rng.standard_normal(d) * 4
        dy = rng.standard_normal((m, d))
        y_ref, dx_ref = torch_forward_backward(ref, x, dy)
        y = ours.forward(x)
        dx = ours.backward(dy)
        np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dx, dx_ref, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours.dgamma, ref.weight.grad.numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ours.dbeta, ref.bias.grad.numpy(), rtol=1e-12, atol=1e-12)
        ref.weight.grad = None
        ref.bias.grad = None
        np.testing.assert_allclose(ours.running_mean, ref.running_mean.numpy(), rtol=1e-13, atol=1e-14)
        np.testing.assert_allclose(ours.running_var, ref.running_var.numpy(), rtol=1e-13, atol=1e-14)
        assert ours.num_batches_tracked == int(ref.num_batches_tracked) == step + 1

    ours.eval()
    ref.eval()
    assert not ours.training
    x = rng.standard_normal((7, d)) * 2
    dy = rng.standard_normal((7, d))
    y_ref, dx_ref = torch_forward_backward(ref, x, dy)
    np.testing.assert_allclose(ours.forward(x), y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.backward(dy), dx_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.dgamma, ref.weight.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.dbeta, ref.bias.grad.numpy(), rtol=1e-12, atol=1e-12)
    assert ours.num_batches_tracked == 5  # eval does not update the running statistics
    np.testing.assert_allclose(ours.running_var, ref.running_var.numpy(), rtol=1e-13)


def test_batchnorm1d_without_affine_matches_torch():
    rng = np.random.default_rng(8)
    ours = BatchNorm1d(3, affine=False)
    ref = torch_bn1d(3, None, None, affine=False)
    assert ours.gamma is None and ours.beta is None
    x, dy = rng.standard_normal((6, 3)) + 2, rng.standard_normal((6, 3))
    y_ref, dx_ref = torch_forward_backward(ref, x, dy)
    np.testing.assert_allclose(ours.forward(x), y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.backward(dy), dx_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.running_var, ref.running_var.numpy(), rtol=1e-13)


def test_batchnorm1d_uses_unbiased_variance_for_running_var_only():
    x = np.array([[1.0], [3.0]])  # biased var 1, unbiased var 2
    layer = BatchNorm1d(1, momentum=0.5)
    y = layer.forward(x)
    np.testing.assert_allclose(y[:, 0], [-1, 1], atol=1e-5)
    assert layer.running_mean[0] == pytest.approx(0.5 * 0 + 0.5 * 2.0)
    assert layer.running_var[0] == pytest.approx(0.5 * 1 + 0.5 * 2.0)
    assert layer.train() is layer and layer.eval() is layer and not layer.training


def test_batch_of_one_in_training_mode_raises_like_torch():
    layer = BatchNorm1d(3)
    with pytest.raises(ValueError, match="batch of 1"):
        layer.forward(np.ones((1, 3)))
    assert layer.num_batches_tracked == 0
    with pytest.raises(ValueError):
        torch.nn.BatchNorm1d(3, dtype=torch.float64)(torch.ones(1, 3, dtype=torch.float64))
    y = layer.eval().forward(np.full((1, 3), 2.0))  # eval mode is fine with one example
    np.testing.assert_allclose(y, 2.0 / np.sqrt(1 + DEFAULT_EPS))


def test_spatial_batchnorm_matches_torch_batchnorm2d():
    rng = np.random.default_rng(9)
    n, c, h, w = 2, 3, 4, 5
    x = 4 * rng.standard_normal((n, c, h, w)) + 10
    dy = rng.standard_normal((n, c, h, w))
    gamma, beta = rng.standard_normal(c), rng.standard_normal(c)
    ref = torch.nn.BatchNorm2d(c, eps=DEFAULT_EPS, dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(gamma))
        ref.bias.copy_(torch.from_numpy(beta))
    y_ref, dx_ref = torch_forward_backward(ref, x, dy)

    y, cache = spatial_batchnorm_forward(x, gamma, beta)
    dx, dgamma, dbeta = spatial_batchnorm_backward(dy, cache)
    assert y.shape == dx.shape == (n, c, h, w) and dgamma.shape == dbeta.shape == (c,)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dgamma, ref.weight.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dbeta, ref.bias.grad.numpy(), rtol=1e-12, atol=1e-12)

    # One torch update of the running statistics, rebuilt from the per-channel statistics.
    mean, var = channel_statistics(x)
    m = n * h * w
    np.testing.assert_allclose(ref.running_mean.numpy(), 0.1 * mean, rtol=1e-13)
    np.testing.assert_allclose(ref.running_var.numpy(), 0.9 + 0.1 * var * m / (m - 1), rtol=1e-13)

    ref.eval()
    x_test = rng.standard_normal((n, c, h, w))
    scale, shift = inference_affine(gamma, beta, ref.running_mean.numpy(), ref.running_var.numpy())
    y_eval = scale[None, :, None, None] * x_test + shift[None, :, None, None]
    with torch.no_grad():
        np.testing.assert_allclose(y_eval, ref(torch.from_numpy(x_test)).numpy(), rtol=1e-12, atol=1e-12)


def test_channel_statistics_equal_the_reshape_route():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 3, 4, 5)) * np.array([1.0, 5.0, 0.1])[None, :, None, None] + 3
    mean, var = channel_statistics(x)
    _, cache = spatial_batchnorm_forward(x, np.ones(3), np.zeros(3))
    np.testing.assert_allclose(mean, cache.flat.mu, rtol=1e-13)
    np.testing.assert_allclose(var, cache.flat.var, rtol=1e-12)
    flat = x.transpose(0, 2, 3, 1).reshape(-1, 3)
    np.testing.assert_allclose(mean, flat.mean(axis=0), rtol=1e-13)
    assert cache.flat.m == 2 * 4 * 5


def test_spatial_gradient_check():
    rng = np.random.default_rng(11)
    x = 3 * rng.standard_normal((2, 3, 2, 2)) + 5
    gamma, beta, dy = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal((2, 3, 2, 2))
    _, cache = spatial_batchnorm_forward(x, gamma, beta)
    dx, dgamma, dbeta = spatial_batchnorm_backward(dy, cache)
    ndx = numerical_gradient(lambda v: spatial_batchnorm_forward(v, gamma, beta)[0], x, dy)
    ndgamma = numerical_gradient(lambda v: spatial_batchnorm_forward(x, v, beta)[0], gamma, dy)
    assert np.max(np.abs(dx - ndx)) <= 1e-8 * np.max(np.abs(dx))
    assert relative_error(dgamma, ndgamma) < GRADCHECK_TOL
    assert relative_error(dbeta, dy.sum(axis=(0, 2, 3))) < 1e-14


# --------------------------------------------------------------------------- inference


def test_population_statistics_approach_the_population():
    rng = np.random.default_rng(12)
    pop_mean, pop_std = np.array([3.0, -1.0]), np.array([2.0, 0.5])
    m, batches = 32, 3000
    x = pop_mean + pop_std * rng.standard_normal((batches, m, 2))
    mean, var = population_statistics(x.mean(axis=1), x.var(axis=1), m)
    np.testing.assert_allclose(mean, pop_mean, atol=0.02)
    np.testing.assert_allclose(var, pop_std**2, rtol=0.03)


def test_m_over_m_minus_1_makes_the_mean_batch_variance_unbiased():
    rng = np.random.default_rng(13)
    sigma2, m, batches = 4.0, 4, 40000
    x = 2.0 * rng.standard_normal((batches, m)) + 7.0
    biased = x.var(axis=1)
    # SE of the mean of unbiased variances: sqrt(2 sigma^4 / (m-1) / batches) ~ 0.016
    _, var = population_statistics(x.mean(axis=1), biased, m)
    assert abs(var - sigma2) < 0.07
    assert abs(biased.mean() - (m - 1) / m * sigma2) < 0.07  # without the factor: 3, not 4
    assert abs(biased.mean() - sigma2) > 0.8


def test_running_statistics_track_the_population():
    rng = np.random.default_rng(14)
    pop_mean, pop_std = np.array([3.0, -1.0]), np.array([2.0, 0.5])
    ema = BatchNorm1d(2, momentum=0.01)
    cumulative = BatchNorm1d(2, momentum=None)
    means, variances = [], []
    for _ in range(1500):
        x = pop_mean + pop_std * rng.standard_normal((32, 2))
        ema.forward(x)
        cumulative.forward(x)
        means.append(x.mean(axis=0))
        variances.append(x.var(axis=0))
    np.testing.assert_allclose(ema.running_mean, pop_mean, atol=0.15)
    np.testing.assert_allclose(ema.running_var, pop_std**2, rtol=0.1)
    # momentum=None is the cumulative average: exactly Algorithm 2 on the same batches.
    e_x, var_x = population_statistics(np.array(means), np.array(variances), 32)
    np.testing.assert_allclose(cumulative.running_mean, e_x, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cumulative.running_var, var_x, rtol=1e-10)


def test_inference_affine_equals_eval_forward():
    rng = np.random.default_rng(15)
    layer = BatchNorm1d(3)
    layer.gamma, layer.beta = rng.standard_normal(3), rng.standard_normal(3)
    for _ in range(20):
        layer.forward(5 * rng.standard_normal((10, 3)) + 2)
    x = rng.standard_normal((6, 3)) * 5
    scale, shift = inference_affine(layer.gamma, layer.beta, layer.running_mean, layer.running_var, layer.eps)
    expected = layer.gamma * (x - layer.running_mean) / np.sqrt(layer.running_var + layer.eps) + layer.beta
    np.testing.assert_allclose(layer.eval().forward(x), scale * x + shift, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(scale * x + shift, expected, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- scale invariance


def bn_of_linear(u, w, gamma, beta, eps):
    return batchnorm_forward(u @ w, gamma, beta, eps)[0]


def grad_wrt_w(u, w, gamma, beta, dy, eps):
    _, cache = batchnorm_forward(u @ w, gamma, beta, eps)
    dz, _, _ = batchnorm_backward(dy, cache)
    return u.T @ dz


@pytest.mark.parametrize("a", [0.5, 3.0, 10.0])
def test_scale_invariance_of_output_and_inverse_scaling_of_gradient(a):
    rng = np.random.default_rng(16)
    u, w = rng.standard_normal((16, 6)), rng.standard_normal((6, 4))
    gamma, beta, dy = rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal((16, 4))
    eps = DEFAULT_EPS

    # Exactly: BN_eps((aW) u) = BN_{eps/a^2}(W u), and its gradient w.r.t. aW is 1/a times.
    np.testing.assert_allclose(bn_of_linear(u, a * w, gamma, beta, eps),
                               bn_of_linear(u, w, gamma, beta, eps / a**2), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad_wrt_w(u, a * w, gamma, beta, dy, eps),
                               grad_wrt_w(u, w, gamma, beta, dy, eps / a**2) / a, rtol=1e-10, atol=1e-12)

    # With the same eps: equal up to terms of order eps / var.
    y_w, y_aw = bn_of_linear(u, w, gamma, beta, eps), bn_of_linear(u, a * w, gamma, beta, eps)
    assert np.max(np.abs(y_aw - y_w)) < 1e-4 * np.max(np.abs(y_w))
    g_w, g_aw = grad_wrt_w(u, w, gamma, beta, dy, eps), grad_wrt_w(u, a * w, gamma, beta, dy, eps)
    assert np.max(np.abs(g_aw - g_w / a)) < 1e-4 * np.max(np.abs(g_w / a))

    # And the formula gradient is the true gradient (centred differences w.r.t. aW).
    numeric = numerical_gradient(lambda v: bn_of_linear(u, v, gamma, beta, eps), a * w, dy)
    assert np.max(np.abs(numeric - g_aw)) <= 1e-7 * np.max(np.abs(g_aw))


# --------------------------------------------------------------------------- checking tools


def test_relative_error_is_the_elementwise_cs231n_form():
    assert relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert relative_error([1.0, 100.0], [1.1, 100.0]) == pytest.approx(0.1 / 2.1)
    assert relative_error([0.0], [0.0]) == 0.0  # floor of 1e-8 avoids 0/0
    assert relative_error([0.0], [1e-10]) == pytest.approx(1e-2)


def test_numerical_gradient_of_a_known_function_leaves_x_unchanged():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    before = x.copy()
    df = np.array([[1.0, 2.0], [3.0, 4.0]])
    grad = numerical_gradient(lambda v: v**3, x, df)
    np.testing.assert_allclose(grad, 3 * before**2 * df, rtol=1e-9)
    np.testing.assert_array_equal(x, before)


# --------------------------------------------------------------------------- bad input


_X, _G, _B = np.ones((4, 3)) + np.arange(12).reshape(4, 3), np.ones(3), np.zeros(3)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: batchnorm_forward(np.ones(3), _G, _B), "x"),
        (lambda: batchnorm_forward(np.ones((2, 3, 1)), _G, _B), "x"),
        (lambda: batchnorm_forward(np.where(_X > 5, np.nan, _X), _G, _B), "x"),
        (lambda: batchnorm_forward(np.where(_X > 5, np.inf, _X), _G, _B), "x"),
        (lambda: batchnorm_forward(_X, np.ones(4), _B), "gamma"),
        (lambda: batchnorm_forward(_X, np.ones((3, 1)), _B), "gamma"),
        (lambda: batchnorm_forward(_X, [1.0, np.inf, 1.0], _B), "gamma"),
        (lambda: batchnorm_forward(_X, _G, np.zeros(2)), "beta"),
        (lambda: batchnorm_forward(_X, _G, [0.0, np.nan, 0.0]), "beta"),
        (lambda: batchnorm_forward(_X, _G, _B, eps=0.0), "eps"),
        (lambda: batchnorm_forward(_X, _G, _B, eps=-1e-5), "eps"),
        (lambda: batchnorm_forward(_X, _G, _B, eps=np.nan), "eps"),
        (lambda: batchnorm_backward(np.ones((4, 2)), batchnorm_forward(_X, _G, _B)[1]), "dy"),
        (lambda: batchnorm_backward_graph(np.full((4, 3), np.nan), batchnorm_forward(_X, _G, _B)[1]), "dy"),
        (lambda: spatial_batchnorm_forward(_X, _G, _B), "x"),
        (lambda: spatial_batchnorm_forward(np.ones((2, 3, 2, 2)), np.ones(2), _B), "gamma"),
        (lambda: channel_statistics(np.ones((2, 3, 4))), "x"),
        (lambda: population_statistics(np.ones((5, 3)), np.ones((5, 3)), 1), "m"),
        (lambda: population_statistics(np.ones((5, 3)), np.ones((4, 3)), 4), "batch_vars"),
        (lambda: population_statistics(np.full(5, np.nan), np.ones(5), 4), "batch_means"),
        (lambda: inference_affine(_G, _B, np.zeros(3), -np.ones(3), 1e-5), "var"),
        (lambda: inference_affine(_G, _B, np.zeros(3), np.ones(3), 0.0), "eps"),
        (lambda: BatchNorm1d(3).forward(np.ones((4, 2))), "x"),
        (lambda: BatchNorm1d(0), "num_features"),
        (lambda: BatchNorm1d(3, eps=0), "eps"),
        (lambda: BatchNorm1d(3, momentum=1.5), "momentum"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()


def test_backward_before_forward_is_an_error():
    with pytest.raises(RuntimeError):
        BatchNorm1d(2).backward(np.ones((3, 2)))


# --------------------------------------------------------------------------- LayerNorm, GroupNorm


def torch_norm_gradients(fn, x, gamma, beta, dy):
    """Output and (dx, dgamma, dbeta) of a torch function fn(x, gamma, beta) in float64."""
    xt, gt, bt = (torch.tensor(a, dtype=torch.float64, requires_grad=True)
                  for a in (x, gamma, beta))
    y = fn(xt, gt, bt)
    y.backward(torch.tensor(dy))
    return y.detach().numpy(), xt.grad.numpy(), gt.grad.numpy(), bt.grad.numpy()


@pytest.mark.parametrize("n", [1, 2, 4, 7])
def test_layernorm_matches_torch_layer_norm(n):
    x, gamma, beta, dy = classic_case(seed=n, n=n, d=6)
    y, cache = layernorm_forward(x, gamma, beta)
    ty, tdx, tdg, tdb = torch_norm_gradients(
        lambda a, g, b: torch.nn.functional.layer_norm(a, (6,), g, b, DEFAULT_EPS), x, gamma, beta, dy)
    np.testing.assert_allclose(y, ty, rtol=1e-10, atol=1e-12)
    for ours, theirs in zip(layernorm_backward(dy, cache), (tdx, tdg, tdb)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("shape,groups", [((4, 6), 3), ((1, 6), 2), ((3, 6, 4, 5), 3),
                                          ((2, 4, 3, 3), 1), ((2, 4, 3, 3), 4)])
def test_groupnorm_matches_torch_group_norm(shape, groups):
    rng = np.random.default_rng(len(shape) * 10 + groups)
    x = 5 * rng.standard_normal(shape) + 12
    gamma, beta = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    dy = rng.standard_normal(shape)
    y, cache = groupnorm_forward(x, gamma, beta, groups)
    ty, tdx, tdg, tdb = torch_norm_gradients(
        lambda a, g, b: torch.nn.functional.group_norm(a, groups, g, b, DEFAULT_EPS),
        x, gamma, beta, dy)
    np.testing.assert_allclose(y, ty, rtol=1e-10, atol=1e-12)
    for ours, theirs in zip(groupnorm_backward(dy, cache), (tdx, tdg, tdb)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("shape,groups", [((4, 5), 1), ((3, 6), 2), ((2, 4, 3, 3), 2)])
def test_layernorm_and_groupnorm_gradient_check(shape, groups):
    rng = np.random.default_rng(groups)
    x = 5 * rng.standard_normal(shape) + 12
    gamma, beta = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    dy = rng.standard_normal(shape)
    forward = (lambda a, g, b: layernorm_forward(a, g, b)[0]) if len(shape) == 2 and groups == 1 \
        else (lambda a, g, b: groupnorm_forward(a, g, b, groups)[0])
    _, cache = groupnorm_forward(x, gamma, beta, groups)
    dx, dgamma, dbeta = groupnorm_backward(dy, cache)
    # h = 1e-4: with groups of 3 values of spread ~1.5 around 12, rounding error at h = 1e-5
    # reaches ~1e-8 (measured: 1.1e-8 at 1e-5, 5e-10 at 1e-4, 7e-8 at 1e-3)
    h = 1e-4
    ndx = numerical_gradient(lambda v: forward(v, gamma, beta), x, dy, h)
    ndg = numerical_gradient(lambda v: forward(x, v, beta), gamma, dy, h)
    ndb = numerical_gradient(lambda v: forward(x, gamma, v), beta, dy, h)
    for ours, numerical in ((dx, ndx), (dgamma, ndg), (dbeta, ndb)):
        assert relative_error(ours, numerical) < GRADCHECK_TOL


def test_layernorm_normalises_each_example_not_each_feature():
    x, _, _, _ = classic_case(seed=3, n=5, d=8)
    y, cache = layernorm_forward(x, np.ones(8), np.zeros(8))
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=1), cache.var[:, 0] / (cache.var[:, 0] + DEFAULT_EPS))
    assert np.abs(y.mean(axis=0)).max() > 0.1  # the features are not standardised
    # an example's output does not depend on the other examples of its batch
    alone, _ = layernorm_forward(x[:1], np.ones(8), np.zeros(8))
    np.testing.assert_allclose(alone, y[:1])


def test_groupnorm_with_one_channel_per_group_on_images_is_instance_norm_and_one_group_is_layernorm():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 4, 3, 3)) * 3 + 1
    ones, zeros = np.ones(4), np.zeros(4)
    inst, _ = groupnorm_forward(x, ones, zeros, 4)
    np.testing.assert_allclose(inst.mean(axis=(2, 3)), 0, atol=1e-12)
    flat = x.reshape(2, -1)
    one_group, _ = groupnorm_forward(x, ones, zeros, 1)
    ln, _ = layernorm_forward(flat, np.ones(36), np.zeros(36))
    np.testing.assert_allclose(one_group.reshape(2, -1), ln, atol=1e-12)
    _, cache = groupnorm_forward(x, ones, zeros, 2)
    assert cache.values_per_group == 2 * 3 * 3


@pytest.mark.parametrize("call,words", [
    (lambda: groupnorm_forward(np.ones((2, 6)), np.ones(6), np.zeros(6), 4), "groups"),
    (lambda: groupnorm_forward(np.ones((2, 6)), np.ones(6), np.zeros(6), 0), "groups"),
    (lambda: groupnorm_forward(np.ones((2, 6, 2)), np.ones(6), np.zeros(6), 2), "x must be"),
    (lambda: groupnorm_forward(np.ones((0, 6)), np.ones(6), np.zeros(6), 2), "empty"),
    (lambda: layernorm_forward(np.ones((2, 3, 1, 1)), np.ones(3), np.zeros(3)), "x must be 2-D"),
    (lambda: layernorm_forward(np.ones((2, 3)), np.ones(4), np.zeros(3)), "gamma"),
])
def test_bad_norm_input_raises_value_error(call, words):
    with pytest.raises(ValueError, match=words):
        call()
