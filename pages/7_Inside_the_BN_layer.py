"""Inside the BN layer (T10-T12): Algorithm 1 on a batch the student edits, the backward pass
node by node against numerical gradients, training vs evaluation mode with running statistics,
batch size down to 1, and convolutional BN's per-channel statistics."""
import io

import numpy as np
import pandas as pd
import streamlit as st

import bnlab_ui as ui
from bn_core.lessons import inside_bn as lesson
from bn_core.nets.batchnorm import DEFAULT_EPS, batchnorm_forward
from bn_core.config import Setting
from bn_core.figures import inside_bn as figs
from bn_core.figures.style import LIVE_CONFIG

VIEW = [
    Setting("n_rows", int, 4, "Batch: examples N (rows)", "1 shows what breaks.", lo=1, hi=8,
            url="n"),
    Setting("n_features", int, 3, "Batch: features D (columns)", lo=1, hi=6, url="d"),
    Setting("feature", int, 1, "Backward table: feature shown", lo=1, hi=6, url="f"),
    Setting("seed", int, 0, "Batch: random seed", "A new batch x, and upstream gradient dy.",
            lo=0, hi=999, url="seed"),
    Setting("eps", str, f"{DEFAULT_EPS:g}", "eps (added to the variance)",
            "BN divides by sqrt(var + eps); try a large eps or a tiny one.",
            choices=("1e-08", "1e-05", "0.001", "0.1", "1"), url="eps"),
    Setting("pop_mean", float, 3.0, "Population: mean", lo=-10.0, hi=10.0, url="pm"),
    Setting("pop_std", float, 2.0, "Population: standard deviation", lo=0.1, hi=10.0, url="ps"),
    Setting("m", int, 4, "Training batch size m", "Batches drawn from the population.",
            lo=1, hi=256, url="m"),
    Setting("momentum", float, 0.1, "Running-average momentum",
            "running = (1 - momentum) * running + momentum * batch (torch's convention).",
            lo=0.01, hi=1.0, url="mom"),
    Setting("n_batches", int, 300, "Training batches T", lo=10, hi=1000, url="T"),
    Setting("tensor_n", int, 2, "Tensor: examples N", lo=1, hi=4, url="tn"),
    Setting("tensor_c", int, 3, "Tensor: channels C", lo=1, hi=4, url="tc"),
    Setting("tensor_hw", int, 4, "Tensor: height = width", lo=2, hi=8, url="hw"),
    Setting("channel", int, 1, "Tensor: channel highlighted", lo=1, hi=4, url="ch"),
]


@st.cache_data(max_entries=64, show_spinner=False)
def running_statistics(mean, std, m, momentum, n_batches, seed, eps):
    return lesson.running_statistics(mean, std, m, momentum, n_batches, seed, eps)


@st.cache_data(max_entries=64, show_spinner=False)
def batch_noise(mean, std, seed, eps):
    return lesson.batch_noise(mean, std, seed=seed, eps=eps)


@st.cache_data(max_entries=4, show_spinner=False)
def refusals():
    return lesson.batch_of_one_refusals()


def plot(fig, key):
    st.plotly_chart(fig, key=key, width="stretch", config=LIVE_CONFIG)


def table_editor(label, frame, key, help_text):
    st.markdown(f"**{label}**", help=help_text)
    return st.data_editor(frame, key=key, num_rows="fixed", width="stretch",
                          column_config={c: st.column_config.NumberColumn(c, format="%.4g")
                                         for c in frame.columns})


def fmt(values, digits=4):
    return ", ".join(f"{v:.{digits}g}" for v in np.atleast_1d(values))


def csv_of(rows: list[dict]) -> str:
    out = io.StringIO()
    pd.DataFrame(rows).to_csv(out, index=False)
    return out.getvalue()



ui.page_header(
    "Inside the BN layer", "T10, T11, T12",
    "Batch normalization is four lines of arithmetic (Algorithm 1 of Ioffe & Szegedy 2015): "
    "per feature, the batch mean **mu**, the batch variance **var**, the normalised "
    "**xhat = (x - mu) / sqrt(var + eps)**, and the output **y = gamma * xhat + beta**. "
    "Below, every number is computed live by BN Lab's from-scratch NumPy layer on a batch "
    "**you can edit**: the forward pass, the backward pass node by node checked against "
    "numerical gradients, what changes between training and evaluation mode, what happens "
    "when the batch shrinks to one example, and how convolutional layers do the same per channel.")

with ui.guard("the Inside the BN layer page"):
    view = ui.view_controls(VIEW)
    ui.share_link()
    n, d, seed, eps = view["n_rows"], view["n_features"], view["seed"], float(view["eps"])
    feature = min(view["feature"], d) - 1
    if view["feature"] > d:
        st.sidebar.caption(f"Feature {view['feature']} does not exist with D = {d}; "
                           f"showing feature {d}.")
    example = lesson.example_batch(n, d, seed)
    names = [f"x{j + 1}" for j in range(d)]
    rows = [f"example {i + 1}" for i in range(n)]

    # ------------------------------------------------------------------ 1. Algorithm 1
    st.header("1. Algorithm 1 on a batch you edit (T10)")
    reset = st.session_state.setdefault("_inside_bn_edits", 0)
    key = f"{n}:{d}:{seed}:{reset}"
    c1, c2, c3 = st.columns([3, 2, 3])
    with c1:
        x_frame = table_editor("Input batch x (N rows, D features)",
                               pd.DataFrame(example.x, index=rows, columns=names),
                               f"edit:x:{key}", "Double-click a cell to change it.")
    with c2:
        affine_frame = table_editor(
            "gamma and beta (one pair per feature)",
            pd.DataFrame(np.vstack([example.gamma, example.beta]), index=["gamma", "beta"],
                         columns=names), f"edit:affine:{key}", "BN's learnable scale and shift.")
    with c3:
        dy_frame = table_editor("Upstream gradient dL/dy (for the backward pass)",
                                pd.DataFrame(example.dy, index=rows, columns=names),
                                f"edit:dy:{key}", "What the layers above send back.")
    if st.button("Reset the tables to the seed's batch", icon=":material/restart_alt:"):
        st.session_state["_inside_bn_edits"] = reset + 1
        st.rerun()
    st.caption("Your edits stay while you use the page; the link reproduces N, D, seed and eps "
               "(the seed's batch), not hand edits.")

    try:
        x = lesson.checked_table("x", x_frame.to_numpy(dtype=float, na_value=np.nan), (n, d),
                                 names, rows)
        affine = lesson.checked_table("gamma/beta", affine_frame.to_numpy(dtype=float,
                                                                           na_value=np.nan),
                                      (2, d), names, ["gamma", "beta"])
        dy = lesson.checked_table("dL/dy", dy_frame.to_numpy(dtype=float, na_value=np.nan),
                                  (n, d), names, rows)
    except (ValueError, TypeError) as exc:
        st.error(f"Please fix the tables: {exc}. Every cell must hold a finite number "
                 "(no empty cells, no text, no inf).", icon=":material/edit_off:")
        st.stop()
    gamma, beta = affine[0], affine[1]
    y, cache = batchnorm_forward(x, gamma, beta, eps)
    stats = pd.DataFrame({"mu (batch mean)": cache.mu, "var (batch variance, 1/m)": cache.var,
                          "sqrt(var + eps)": cache.std, "gamma": gamma, "beta": beta},
                         index=names).T
    t1, t2, t3 = st.columns([3, 3, 3])
    t1.markdown(f"**Per-feature statistics** (m = {n})")
    t1.dataframe(stats.style.format("{:.4g}"), width="stretch")
    t2.markdown("**xhat = (x - mu) / sqrt(var + eps)**")
    t2.dataframe(pd.DataFrame(cache.xhat, index=rows, columns=names).style.format("{:.4f}"),
                 width="stretch")
    t3.markdown("**y = gamma * xhat + beta**")
    t3.dataframe(pd.DataFrame(y, index=rows, columns=names).style.format("{:.4f}"),
                 width="stretch")
    c1, c2 = st.columns([3, 1])
    with c1:
        plot(figs.algorithm1_figure(x, cache.xhat, y, names), "inside:alg1")
    with c2:
        j = feature
        if n == 1:
            ui.explain(f"**N = 1: BN breaks.** With one example, mu = x, so x - mu = 0 and "
                       f"var = 0: xhat = 0 / sqrt(eps) = 0 for every input, and y = beta "
                       f"({fmt(beta)}) whatever x is. The layer has erased its input, and "
                       "(section 2) no gradient reaches x. Set N back to 2 or more.")
        else:
            ui.explain(
                f"**What to look for.** Panel 1: feature {names[j]}'s values spread around "
                f"mu = {cache.mu[j]:.3g} with sqrt(var + eps) = {cache.std[j]:.3g}. Panel 2: "
                f"after normalising, {names[j]}'s xhat has mean {cache.xhat.mean(0)[j]:.1e} and "
                f"standard deviation {cache.xhat.std(0)[j]:.4f} (1 less a hair for eps)"
                + (", and so has every other feature, whatever its scale. "
                   if np.all(np.abs(cache.xhat.std(0) - 1) < 0.01) else
                   f"; all features' xhat stds: {fmt(cache.xhat.std(0))} (a variance not much "
                   "larger than eps keeps xhat's spread below 1). ")
                + 
                f"Panel 3: gamma = {gamma[j]:g} and beta = {beta[j]:g} set the output's spread "
                f"and centre: y has mean {y.mean(0)[j]:.4g} and std {y.std(0)[j]:.4g}.\n\n"
                "**Try:** make one value of x1 huge (e.g. 1000): every xhat in that column "
                "changes, because mu and var belong to the whole batch. Set gamma = "
                f"sqrt(var + eps) = {cache.std[j]:.4g} and beta = mu = {cache.mu[j]:.4g} for "
                f"{names[j]}: y equals x again (BN undone).")

    # ------------------------------------------------------------------ 2. backward
    st.header("2. The backward pass, node by node (T10)")
    check = lesson.backward_check(x, gamma, beta, dy, eps)
    table = lesson.node_table(check, feature)
    c1, c2 = st.columns([3, 2])
    with c1:
        plot(figs.gradient_check_figure(check), "inside:gradcheck")
    with c2:
        ui.explain(
            "Backprop walks the 9-node graph from y back to x: each node's gradient is built "
            "from the gradient of the node after it (the **backward rule** column). Beside each, "
            "BN Lab nudges every element of that node by a small step h (scaled to the "
            "element's value and to how sharply L bends there), reruns everything downstream "
            "in float64, and measures the change of the loss L = sum(dL/dy * y) (**centred "
            "differences**).\n\n"
            f"**Measured:** {lesson.gradient_check_verdict(check)}"
            f" The compact formula `dx = (m g - sum g - xhat sum(g xhat)) / (m sqrt(var + eps))` "
            f"agrees with the graph to {check.compact_vs_graph:.1e}.\n\n"
            f"**Two consequences to check:** `sum_i dL/dx_i` = [{fmt(check.dx_sum, 2)}] (zero: "
            "shifting the whole batch changes nothing after BN), and `sum_i dL/dx_i * xhat_i` = "
            f"[{fmt(check.dx_dot_xhat, 2)}] (zero only when eps = 0: try eps = 1 to see it "
            "grow, 1e-08 to see it vanish).")
    st.markdown(f"**Every node for feature {names[feature]}** (change the feature in the "
                "sidebar). Values and gradients are per example for per-example nodes, one "
                "number for per-feature nodes; the relative error covers all features.")
    shown = pd.DataFrame(table)[["node", "relative error", "value", "dL/dnode (backprop)",
                                 "dL/dnode (centred differences)", "forward", "backward rule"]]
    st.dataframe(shown.style.format({"relative error": "{:.1e}"}), width="stretch",
                 hide_index=True, height=35 * (len(shown) + 1) + 3,
                 column_config={"node": st.column_config.TextColumn(width="small"),
                                "relative error": st.column_config.NumberColumn(width="medium")})
    st.download_button("Node table (CSV)", csv_of(table), file_name="bnlab-bn-backward.csv",
                       mime="text/csv", icon=":material/download:", on_click="ignore")

    # ------------------------------------------------------------------ 3. train vs eval
    st.header("3. Training mode vs evaluation mode (T11)")
    mean, std, m = view["pop_mean"], view["pop_std"], view["m"]
    momentum, n_batches = view["momentum"], view["n_batches"]
    st.markdown(
        f"The layer sees **{n_batches} training batches of m = {m}** values drawn from a "
        f"population with mean **{mean:g}** and standard deviation **{std:g}** (variance "
        f"{std ** 2:g}); set them in the sidebar. In **training mode** it normalises each batch "
        "with that batch's own mean and variance and updates its running averages. In "
        "**evaluation mode** it uses the running averages instead, so one input always gives "
        "one output (Algorithm 2).")
    if m < 2:
        msgs = refusals()
        st.error(f"**m = 1: training-mode BN is undefined.** The variance of one value is 0. "
                 f"torch refuses: `{msgs['torch']}`. BN Lab's layer too: `{msgs['bn_core']}`. "
                 "Set the training batch size m to 2 or more.", icon=":material/block:")
    else:
        rs = running_statistics(mean, std, m, momentum, n_batches, seed, eps)
        c1, c2 = st.columns([3, 1])
        with c1:
            plot(figs.running_statistics_figure(rs), "inside:running")
        with c2:
            ui.explain(
                f"**After {n_batches} batches:** running mean **{rs.running_mean[-1]:.3f}** "
                f"(true {rs.true_mean:g}); running variance **{rs.running_var[-1]:.3f}** "
                f"(true {rs.true_var:g}).\n\n"
                f"**The m/(m-1) correction.** A batch's variance divides by m around the "
                f"batch's own mean, so on average it is (m-1)/m = {(m - 1) / m:.3f} of the truth. "
                f"Averaged over all batches: **{rs.average_batch_var[-1]:.3f}** uncorrected "
                f"(orange, expected {(m - 1) / m * rs.true_var:.3f}) vs "
                f"**{rs.population_var[-1]:.3f}** with m/(m-1) (dashed blue). "
                "torch stores the corrected (unbiased) variance in running_var for this reason."
                "\n\n**Try:** m = 2 (the uncorrected average lands near half the variance), "
                "m = 128 (the correction hardly matters), momentum 0.01 (slow to converge) or "
                "1.0 (the running value is just the last batch's).")
        st.download_button(
            "Running statistics per batch (CSV)",
            pd.DataFrame({"batch": np.arange(1, n_batches + 1), "batch_mean": rs.batch_mean,
                          "batch_var_biased": rs.batch_var, "running_mean": rs.running_mean,
                          "running_var_unbiased": rs.running_var,
                          "algorithm2_mean": rs.population_mean,
                          "algorithm2_var": rs.population_var,
                          "mean_of_batch_vars_biased": rs.average_batch_var,
                          "train_mode_xhat_of_x0": rs.train_xhat}).to_csv(index=False),
            file_name="bnlab-running-statistics.csv", mime="text/csv",
            icon=":material/download:", on_click="ignore")
        c1, c2 = st.columns([3, 2])
        with c1:
            plot(figs.train_eval_figure(rs), "inside:traineval")
        with c2:
            lo, hi = np.percentile(rs.train_xhat, [5, 95])
            ui.explain(
                f"**One input, two modes.** x0 = {rs.probe_value:g} sits exactly one standard "
                f"deviation above the population mean. In training mode its normalised value "
                f"depends on which batch it is in: across {n_batches} batches it ranged over "
                f"**{lo:.2f} to {hi:.2f}** (5th to 95th percentile). In evaluation mode it is "
                f"always **{rs.eval_xhat:.3f}**"
                + (", close to the true 1. " if abs(rs.eval_xhat - 1.0) < 0.1 else
                   f" (the true value is 1: running averages with momentum {momentum:g} "
                   f"remember only the last ~{1 / momentum:.0f} batches, so they are noisy "
                   "too; try momentum 0.01). ")
                + "That is why a trained net must be switched to eval() before it is used: a "
                "prediction must not depend on the other examples that happen to share its "
                "batch.")

    # ------------------------------------------------------------------ 4. batch size
    st.header("4. Batch size down to 1: what breaks (T11)")
    noise = batch_noise(mean, std, seed, eps)
    sizes = list(noise.sizes)
    c1, c2 = st.columns([3, 1])
    with c1:
        plot(figs.batch_noise_figure(noise), "inside:noise")
    with c2:
        def spread(pct, m_):
            i = sizes.index(m_)
            return pct[i, 2] - pct[i, 0]
        msgs = refusals()
        ui.explain(
            f"Each point summarises 2,000 batches drawn from the population above. "
            f"**m = 1:** the batch variance is always 0 and xhat always 0: the layer outputs "
            f"beta whatever the input; torch refuses it in training mode "
            f"(`{msgs['torch']}`). **m = 2:** the 5-95% range of xhat(x0) spans "
            f"{spread(noise.xhat_pct, 2):.2f} standard deviations (with m = 2, xhat is always "
            f"+1 or -1). **m = 4:** {spread(noise.xhat_pct, 4):.2f}; **m = 32:** "
            f"{spread(noise.xhat_pct, 32):.2f}; **m = 128:** {spread(noise.xhat_pct, 128):.2f}. "
            "Small batches make BN's output noisy, and in large nets that costs accuracy "
            "(Wu & He 2018 measured ResNet-50's ImageNet error rising from 23.6% at 32 images "
            "per GPU to 34.7% at 2).")

    # ------------------------------------------------------------------ 5. conv BN
    st.header("5. Convolutional BN: one slab per channel (T12)")
    tn, tc, hw = view["tensor_n"], view["tensor_c"], view["tensor_hw"]
    channel = min(view["channel"], tc) - 1
    if view["channel"] > tc:
        st.caption(f"Channel {view['channel']} does not exist with C = {tc}; showing channel {tc}.")
    tensor = lesson.example_tensor(tn, tc, hw, hw, seed)
    cc = lesson.channel_check(tensor, eps)
    c1, c2 = st.columns([3, 2])
    with c1:
        plot(figs.channel_slab_figure(tensor, channel), "inside:slab")
    with c2:
        ui.explain(
            f"A convolutional layer's output has shape (N, C, H, W) = ({tn}, {tc}, {hw}, {hw}). "
            f"BN keeps **one gamma and one beta per channel** and takes each channel's mean and "
            f"variance over all **N x H x W = {cc.values_per_channel}** positions (the outlined "
            f"column): the same feature detector at every position is one feature.\n\n"
            f"**Channel {channel + 1}:** mean **{cc.mean[channel]:.4f}**, variance "
            f"**{cc.var[channel]:.4f}**; after BN its {cc.values_per_channel} values have mean "
            f"{cc.y_mean[channel]:.1e} and std {cc.y_std[channel]:.4f}.\n\n"
            f"**Checked:** statistics over axes (0, 2, 3) vs ordinary BN on the tensor reshaped "
            f"to `(N*H*W, C)` = ({cc.values_per_channel}, {tc}): largest difference "
            f"**{cc.max_abs_diff:.1e}** (equal up to rounding). The channel axis must be moved "
            f"last first: `x.reshape(-1, C)` without the transpose mixes channels and is off by "
            f"up to **{cc.naive_max_abs_diff:.2f}**.")
    st.dataframe(pd.DataFrame({
        "mean, axes (0,2,3)": cc.mean, "mean, reshape": cc.reshape_mean,
        "var, axes (0,2,3)": cc.var, "var, reshape": cc.reshape_var,
        "mean, wrong reshape": cc.naive_mean,
        "BN out: mean": cc.y_mean, "BN out: std": cc.y_std},
        index=[f"channel {k + 1}" for k in range(tc)]).style.format("{:.4g}"), width="stretch")
