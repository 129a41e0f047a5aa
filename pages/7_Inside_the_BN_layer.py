"""Inside the BN layer, in nine steps the student walks through: Algorithm 1 on a batch they
edit, its arithmetic, the backward pass node by node against numerical gradients, training vs
evaluation mode with running statistics, batch size down to 1, and convolutional BN's
per-channel statistics. Everything is computed on the spot (no run)."""
import numpy as np
import pandas as pd
import streamlit as st

import bnlab_ui as ui
from bn_core.config import Setting
from bn_core.figures import inside_bn as figs
from bn_core.i18n import N_, _
from bn_core.lessons import inside_bn as lesson
from bn_core.lessons import inside_bn_sections as words
from bn_core.nets.batchnorm import DEFAULT_EPS, batchnorm_forward
from bnlab_ui.charts import show_figure
from bnlab_ui.core import escape_markdown
from bnlab_ui.settings import view_values

N_ROWS = Setting("n_rows", int, 4, N_("Batch: examples N (rows)"), N_("1 shows what breaks."),
                 lo=1, hi=8, url="n")
N_FEATURES = Setting("n_features", int, 3, N_("Batch: features D (columns)"), lo=1, hi=6, url="d")
FEATURE = Setting("feature", int, 1, N_("Feature shown"),
                  N_("The column the tables and text follow."), lo=1, hi=6, url="f")
SEED = Setting("seed", int, 0, N_("Random seed"), N_("A new batch x and upstream gradient dy, new "
               "training batches, a new tensor."), lo=0, hi=999, url="seed")
EPS = Setting("eps", str, f"{DEFAULT_EPS:g}", N_("eps (added to the variance)"),
              N_("BN divides by sqrt(var + eps); try a large eps or a tiny one."),
              choices=("1e-08", "1e-05", "0.001", "0.1", "1"), url="eps")
POP_MEAN = Setting("pop_mean", float, 3.0, N_("Population: mean"), lo=-10.0, hi=10.0, url="pm")
POP_STD = Setting("pop_std", float, 2.0, N_("Population: standard deviation"), lo=0.1, hi=10.0,
                  url="ps")
M = Setting("m", int, 4, N_("Training batch size m"), N_("Batches drawn from the population."),
            lo=1, hi=256, url="m")
MOMENTUM = Setting("momentum", float, 0.1, N_("Running-average momentum"),
                   N_("running = (1 - momentum) * running + momentum * batch (torch's "
                      "convention)."),
                   lo=0.01, hi=1.0, url="mom")
N_BATCHES = Setting("n_batches", int, 300, N_("Training batches T"), lo=10, hi=1000, url="T")
TENSOR_N = Setting("tensor_n", int, 2, N_("Tensor: examples N"), lo=1, hi=4, url="tn")
TENSOR_C = Setting("tensor_c", int, 3, N_("Tensor: channels C"), lo=1, hi=4, url="tc")
TENSOR_HW = Setting("tensor_hw", int, 4, N_("Tensor: height = width"), lo=2, hi=8, url="hw")
CHANNEL = Setting("channel", int, 1, N_("Tensor: channel highlighted"), lo=1, hi=4, url="ch")
VIEW = [N_ROWS, N_FEATURES, FEATURE, SEED, EPS, POP_MEAN, POP_STD, M, MOMENTUM, N_BATCHES,
        TENSOR_N, TENSOR_C, TENSOR_HW, CHANNEL]
BATCH = [N_ROWS, N_FEATURES, FEATURE, SEED, EPS]
POPULATION = [POP_MEAN, POP_STD, M, MOMENTUM, N_BATCHES, SEED, EPS]
# the settings each step uses, drawn in the sidebar while it is shown
STEP_SETTINGS = {"batch": BATCH, "numbers": BATCH, "rules": BATCH, "backward": BATCH,
                 "nodes": BATCH,
                 "running": POPULATION, "modes": POPULATION,
                 "batch-size": [POP_MEAN, POP_STD, SEED, EPS],
                 "conv": [TENSOR_N, TENSOR_C, TENSOR_HW, CHANNEL, SEED, EPS]}
TABLES = "_inside_bn_tables"   # the batch the student edits, kept while they step through
CELL = 52                      # px: an edited column wide enough for "-12.3" (D = 6 fits)


@st.cache_data(max_entries=64, show_spinner=False)
def running_statistics(mean, std, m, momentum, n_batches, seed, eps):
    return lesson.running_statistics(mean, std, m, momentum, n_batches, seed, eps)


@st.cache_data(max_entries=64, show_spinner=False)
def batch_noise(mean, std, seed, eps):
    return lesson.batch_noise(mean, std, seed=seed, eps=eps)


@st.cache_data(max_entries=4, show_spinner=False)
def refusals():
    return lesson.batch_of_one_refusals()


lesson_frame = ui.Lesson(
    N_("Inside the BN layer"),
    N_("Batch normalization is four lines of arithmetic, computed here live by BN Lab's "
    "from-scratch layer on a batch **you edit**. Step through it: forward, backward, training "
    "vs evaluation mode, tiny batches, convolutions."),
    more=N_("Algorithm 1 of Ioffe & Szegedy (2015), per feature over a mini-batch of m values: the "
         "batch mean **mu**, the batch variance **var** (dividing by m), the normalised **xhat "
         "= (x - mu) / sqrt(var + eps)**, and the output **y = gamma * xhat + beta**, with gamma "
         "and beta learnt. Steps 1-5 run it forward and backward on a small batch you edit "
         "(your edits stay while you step through; the link reproduces N, D, seed and eps, not "
         "hand edits). Steps 6-8 draw many batches from a population you set, to show what the "
         "layer keeps for inference (Algorithm 2) and what goes wrong as the batch shrinks. "
         "Step 9 does the same per channel of a convolutional layer's (N, C, H, W) output. "
         "Each step's settings are in the sidebar."),
    icon=":material/calculate:", steps=True)


# ---------------------------------------------------------------------------- the edited batch

def tables(view) -> dict:
    """x, gamma/beta and dL/dy as the student left them (the seed's batch until they edit it;
    a new N, D or seed, or Reset, starts from the seed's batch again)."""
    n, d, seed = view["n_rows"], view["n_features"], view["seed"]
    key = f"{n}:{d}:{seed}:{st.session_state.get('_inside_bn_edits', 0)}"
    kept = st.session_state.get(TABLES)
    if kept is None or kept["key"] != key:
        example = lesson.example_batch(n, d, seed)
        names = [f"x{j + 1}" for j in range(d)]
        rows = [_("example {n}").format(n=i + 1) for i in range(n)]
        kept = {"key": key, "names": names, "rows": rows,
                "x": pd.DataFrame(example.x, index=rows, columns=names),
                "affine": pd.DataFrame(np.vstack([example.gamma, example.beta]),
                                       index=["gamma", "beta"], columns=names),
                "dy": pd.DataFrame(example.dy, index=rows, columns=names)}
        st.session_state[TABLES] = kept
    return kept


def editor(kept: dict, name: str, label: str, help_text: str) -> pd.DataFrame:
    """One of the batch's tables as an editable grid; the edit is kept for the other steps."""
    st.markdown(f"**{_(label)}**", help=_(help_text))
    frame = kept[name]
    config = {c: st.column_config.NumberColumn(c, format="%.4g", width=CELL) for c in frame.columns}
    config["_index"] = st.column_config.Column("", width=64 if name == "affine" else 80)
    kept[name] = st.data_editor(frame, key=f"edit:{name}:{kept['key']}", num_rows="fixed",
                                width="content", column_config=config)
    return kept[name]


def reset_button() -> None:
    def reset():
        st.session_state["_inside_bn_edits"] = st.session_state.get("_inside_bn_edits", 0) + 1

    st.button(_("Reset to the seed's batch"), icon=":material/restart_alt:", on_click=reset,
              key="inside:reset")


def parsed(kept: dict, name: str):
    """A table as a float64 array, or None with the message shown (an empty or non-number
    cell)."""
    frame = kept[name]
    rows = ["gamma", "beta"] if name == "affine" else kept["rows"]
    label = {"x": "x", "affine": "gamma/beta", "dy": "dL/dy"}[name]
    try:
        return lesson.checked_table(label, frame.to_numpy(dtype=float, na_value=np.nan),
                                    (len(rows), len(kept["names"])), kept["names"], rows)
    except (ValueError, TypeError) as exc:
        st.error(_("Please fix the tables: {problem}. Every cell must hold a finite number (no "
                   "empty cells, no text, no inf).").format(problem=escape_markdown(exc)),
                 icon=":material/edit_off:")
        return None


def forward(kept: dict, eps: float):
    """(x, gamma, beta, y, cache) of the batch as edited, or None (the message is shown)."""
    x, affine = parsed(kept, "x"), parsed(kept, "affine")
    if x is None or affine is None:
        return None
    y, cache = batchnorm_forward(x, affine[0], affine[1], eps)
    return x, affine[0], affine[1], y, cache


def shown_feature(view) -> int:
    if view["feature"] > view["n_features"]:
        st.sidebar.caption(_("Feature {feature} does not exist with D = {d}; showing feature "
                             "{d}.").format(feature=view["feature"], d=view["n_features"]))
    return min(view["feature"], view["n_features"]) - 1


def number_table(frame: pd.DataFrame, digits: str = "{:.4f}") -> None:
    """A read-only table that always fits its column (cells wrap instead of being cut off)."""
    st.table(frame.style.format(digits))


# ---------------------------------------------------------------------------- the steps

def draw_batch(view, brief):
    kept = tables(view)
    eps, feature = float(view["eps"]), shown_feature(view)
    c1, c2 = st.columns([3, 2] if view["n_features"] <= 3 else [1, 1])
    with c2:
        editor(kept, "x", N_("Input batch x"), N_("Double-click a cell to change it: N rows "
                                                   "(examples), D columns (features)."))
        editor(kept, "affine", N_("gamma and beta"), N_("BN's learnable scale and shift, one "
                                                        "pair per feature."))
        reset_button()
    with c1:
        done = forward(kept, eps)
        if done is None:
            return
        x, gamma, beta, y, cache = done
        show_figure(figs.algorithm1_figure(x, cache.xhat, y, kept["names"],
                                           height=300 if brief else 200),
                    "inside:alg1")
        if not brief:
            st.markdown(words.forward_look_for(cache, y, feature, kept["names"]))


def draw_numbers(view, brief):
    kept = tables(view)
    eps, feature = float(view["eps"]), shown_feature(view)
    c1, c2 = st.columns([1, 1])
    with c2:
        editor(kept, "affine", N_("gamma and beta"), N_("Change them and watch y: BN's "
                                                        "learnable scale and shift."))
    done = forward(kept, eps)
    if done is None:
        return
    x, gamma, beta, y, cache = done
    names, rows = kept["names"], kept["rows"]
    with c1:
        st.markdown(_("**Per feature, over the batch** (m = {m}; var divides by m, not "
                      "m - 1)").format(m=len(rows)))
        number_table(pd.DataFrame({"mu": cache.mu, "var": cache.var,
                                   "sqrt(var + eps)": cache.std}, index=names), "{:.4g}")
        st.markdown("**xhat = (x - mu) / sqrt(var + eps)**")
        number_table(pd.DataFrame(cache.xhat, index=rows, columns=names))
    with c2:
        st.markdown("**y = gamma * xhat + beta**")
        number_table(pd.DataFrame(y, index=rows, columns=names))
        if not brief:
            st.markdown(words.arithmetic_look_for(cache, y, feature, names))


def draw_rules(view, brief):
    kept = tables(view)
    eps = float(view["eps"])
    done, dy = forward(kept, eps), parsed(kept, "dy")
    if done is None or dy is None:
        return
    x, gamma, beta, y, cache = done
    check = lesson.backward_check(x, gamma, beta, dy, eps)
    if not brief:
        st.caption(_("The forward pass as a graph of 9 small steps (nodes). Backprop walks it "
                     "from y back to x: each node's gradient comes from the gradient of the node "
                     "after it, by the rule on its row; dL/dy is what the layers above send "
                     "back."))
    frame = pd.DataFrame(lesson.node_table(check, 0))[["node", "forward", "backward rule"]]
    # formulas stay as they are; the words among them (x is the "input", ...) are translated
    frame[["forward", "backward rule"]] = frame[["forward", "backward rule"]].map(_)
    st.table(frame.rename(columns={"node": _("node"), "forward": _("forward"),
                                   "backward rule": _("backward rule")})
             .style.hide(axis="index"))


def draw_backward(view, brief):
    kept = tables(view)
    eps = float(view["eps"])
    c1, c2 = st.columns([3, 2])
    with c2:
        editor(kept, "dy", N_("Upstream gradient dL/dy"), N_("What the layers above send back: "
                                                             "change it and every gradient below "
                                                             "changes."))
    done, dy = forward(kept, eps), parsed(kept, "dy")
    if done is None or dy is None:
        return
    x, gamma, beta, y, cache = done
    check = lesson.backward_check(x, gamma, beta, dy, eps)
    verdict, sums = words.backward_look_for(check, eps)
    with c1:
        show_figure(figs.gradient_check_figure(check, height=300), "inside:gradcheck")
        st.markdown(verdict)
    with c2:
        if not brief:
            st.markdown(sums)


def draw_nodes(view, brief):
    kept = tables(view)
    eps, feature = float(view["eps"]), shown_feature(view)
    done, dy = forward(kept, eps), parsed(kept, "dy")
    if done is None or dy is None:
        return
    x, gamma, beta, y, cache = done
    check = lesson.backward_check(x, gamma, beta, dy, eps)
    name = kept["names"][feature]
    if not brief:
        st.caption(_("dL/d(node) by backprop beside centred differences (nudge the node by a "
                     "small step, rerun what follows, measure the change of the loss), for "
                     "feature {name} (sidebar); the error covers all features.").format(name=name))
    frame = pd.DataFrame(words.gradient_rows(check, feature)).drop(columns="backward rule")
    st.table(frame.rename(columns={
        "node": _("node"), "backprop": _("backprop ({name})").format(name=name),
        "centred differences": _("centred differences ({name})").format(name=name),
        "relative error": _("relative error")})
             .style.format({_("relative error"): "{:.1e}"}).hide(axis="index"))


def running_and_modes(view):
    mean, std, m = view["pop_mean"], view["pop_std"], view["m"]
    if m < 2:
        msgs = refusals()
        st.error(_("**m = 1: training-mode BN is undefined.** The variance of one value is 0. "
                   "torch refuses: {torch}. BN Lab's layer too: {ours}. Set the training batch "
                   "size m to 2 or more.").format(torch=escape_markdown(msgs["torch"]),
                                                  ours=escape_markdown(msgs["bn_core"])),
                 icon=":material/block:")
        return None
    return running_statistics(mean, std, m, view["momentum"], view["n_batches"], view["seed"],
                              float(view["eps"]))


def draw_running(view, brief):
    rs = running_and_modes(view)
    if rs is None:
        return
    c1, c2 = st.columns([2, 1])
    with c1:
        show_figure(figs.running_statistics_figure(rs, height=240), "inside:running")
    with c2:
        if not brief:
            st.markdown(words.running_look_for(rs))
        st.download_button(
            _("Every batch's statistics (CSV)"),
            pd.DataFrame({"batch": np.arange(1, len(rs.batch_mean) + 1),
                          "batch_mean": rs.batch_mean, "batch_var_biased": rs.batch_var,
                          "running_mean": rs.running_mean, "running_var_unbiased": rs.running_var,
                          "algorithm2_mean": rs.population_mean,
                          "algorithm2_var": rs.population_var,
                          "mean_of_batch_vars_biased": rs.average_batch_var,
                          "train_mode_xhat_of_x0": rs.train_xhat}).to_csv(index=False),
            file_name="bnlab-running-statistics.csv", mime="text/csv",
            icon=":material/download:", on_click="ignore")


def draw_modes(view, brief):
    rs = running_and_modes(view)
    if rs is None:
        return
    c1, c2 = st.columns([3, 2])
    with c1:
        show_figure(figs.train_eval_figure(rs, height=380), "inside:traineval")
    with c2:
        if not brief:
            st.markdown(words.modes_look_for(rs))


def draw_batch_size(view, brief):
    noise = batch_noise(view["pop_mean"], view["pop_std"], view["seed"], float(view["eps"]))
    c1, c2 = st.columns([2, 1])
    with c1:
        show_figure(figs.batch_noise_figure(noise, height=260), "inside:noise")
    with c2:
        if not brief:
            st.markdown(words.batch_size_look_for(noise))


def draw_conv(view, brief):
    tn, tc, hw = view["tensor_n"], view["tensor_c"], view["tensor_hw"]
    channel = min(view["channel"], tc) - 1
    if view["channel"] > tc:
        st.sidebar.caption(_("Channel {channel} does not exist with C = {c}; showing channel "
                             "{c}.").format(channel=view["channel"], c=tc))
    tensor = lesson.example_tensor(tn, tc, hw, hw, view["seed"])
    cc = lesson.channel_check(tensor, float(view["eps"]))
    c1, c2 = st.columns([3, 2])
    with c1:
        show_figure(figs.channel_slab_figure(tensor, channel, height_per_row=140), "inside:slab")
    with c2:
        if not brief:
            st.markdown(words.conv_look_for(cc, tensor.shape, channel))
    if not brief:
        with st.expander(_("Every channel's statistics, both routes")):
            number_table(pd.DataFrame({
                _("mean (0,2,3)"): cc.mean, _("mean, reshape"): cc.reshape_mean,
                _("var (0,2,3)"): cc.var, _("var, reshape"): cc.reshape_var,
                _("mean, wrong reshape"): cc.naive_mean, _("BN out: mean"): cc.y_mean,
                _("BN out: std"): cc.y_std},
                index=[_("channel {n}").format(n=k + 1) for k in range(tc)]), "{:.4g}")


with ui.guard(N_("the Inside the BN layer page")):
    for title, draw, say, name in (
        (N_("Your batch"), draw_batch, N_("Normalise, then scale and shift: every feature ends at "
         "mean beta and spread gamma."), "batch"),
        (N_("The arithmetic"), draw_numbers, N_("mu and var belong to the whole batch."),
         "numbers"),
        (N_("Backward rules"), draw_rules, N_("Backprop: each node's gradient from the one after "
         "it."), "rules"),
        (N_("Gradient check"), draw_backward, N_("Backprop and centred differences agree at every "
         "node."), "backward"),
        (N_("Every node"), draw_nodes, N_("The numbers behind the check."), "nodes"),
        (N_("Running averages"), draw_running, N_("What the layer keeps for inference."),
         "running"),
        (N_("Train vs eval"), draw_modes, N_("One input, two modes: a spread, then one "
         "value."), "modes"),
        (N_("Batch size"), draw_batch_size, N_("The smaller the batch, the noisier BN's "
         "output."), "batch-size"),
        (N_("Convolutions"), draw_conv, N_("One gamma and beta per channel, statistics over N, "
         "H, W."), "conv"),
    ):
        lesson_frame.section(title, lambda data, brief, draw=draw: draw(data["view"], brief),
                             say=say, name=name)
    step = lesson_frame.current()
    view = view_values(VIEW) | lesson_frame.views(STEP_SETTINGS[step.name])
    ui.share_link()
    lesson_frame.static({"view": view, "tables": st.session_state.get(TABLES)})
