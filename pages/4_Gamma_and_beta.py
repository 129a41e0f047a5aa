"""gamma and beta (T7): why BN scales and shifts after normalising. Learnable, frozen at slider
values, or set to undo the normalisation; what the sigmoid (or ReLU) sees; near-linear,
saturated and dead units; the learnt gamma and beta."""
import math

import streamlit as st

import bnlab_ui as ui
from bn_core.config import TOY_DATASETS, RunConfig, Setting
from bn_core.figures.activations import (activation_input_figure, affine_figure,
                                         first_disagreement, heldout_accuracy_chart,
                                         latest_value, output_range, zone_fraction_figure,
                                         zone_rule)
from bn_core.figures.boundaries import boundary_figure

# Circles need every unit to choose its own threshold; with gamma = 1, beta = 0 frozen the BN
# net's sigmoid inputs stay centred on 0. About 20 s at 100 steps/s.
BASE = RunConfig(dataset="circles", n_samples=400, noise=0.1, depth=3, width=32,
                 activation="sigmoid", affine="frozen", gamma_value=1.0, beta_value=0.0,
                 lr=0.5, batch_size=30, steps=2000, probe_every=20, eval_every=20,
                 grid_resolution=40, heldout_size=500, pace=100.0)
DATASETS_OFFERED = TOY_DATASETS + ("mnist-subset",)
SETTINGS_SHOWN = ["affine", "gamma_value", "beta_value", "activation", "dataset", "depth",
                  "width", "lr", "steps", "seed"]
METRIC = "heldout_acc"
UNDO_TOLERANCE = 0.05  # an accuracy gap this small counts as "the curves agree"
MODE_WORDS = {
    "learnable": "**learnable**: the net learns one gamma and one beta per unit",
    "frozen": "**frozen** at the sliders' values: every unit gets gamma = {g:g}, beta = {b:g}",
    "undo": "**set to undo the normalisation**: gamma = sqrt(var_B + eps), beta = mu_B of each "
            "batch, so every BN layer outputs exactly its input",
}


def pct(x: float) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{x:.0%}"


def layer_now(snap, layer: int) -> str:
    """Each net's zone shares for the layer shown, from the latest probe."""
    act, rows = snap.config.activation, []
    for v in snap.nets.values():
        if act in ("sigmoid", "tanh"):
            hist = v.latest.get("hist")
            lo, hi = (output_range(hist[layer], snap.edges, act) if hist is not None
                      else (math.nan, math.nan))
            rows.append(f"- **{v.label}**: {pct(latest_value(v, 'linear_zone', layer))} "
                        f"near-linear, {pct(latest_value(v, 'saturated', layer))} saturated; "
                        f"95% of outputs in [{lo:.2f}, {hi:.2f}]")
        elif act == "relu":
            rows.append(f"- **{v.label}**: {pct(latest_value(v, 'zero_outputs', layer))} of "
                        f"outputs are 0, {pct(latest_value(v, 'dead_units', layer))} of units "
                        "dead")
        else:
            rows.append(f"- **{v.label}**: a linear activation has no zones")
    return f"**Layer {layer + 1} now** (step {snap.step:,}):\n" + "\n".join(rows)


def curve_hint(cfg) -> str:
    if cfg.affine == "undo":
        return ("BN hands back its input unchanged, so both panels show the same kind of "
                "distribution: the plain net's.")
    if cfg.activation == "relu":
        if cfg.affine == "frozen":
            return (f"Grey: the ReLU outputs 0 there. With beta frozen at {cfg.beta_value:g}, BN "
                    "centres each unit's batch at beta, so with beta = 0 about half of its "
                    "outputs are 0. **Try** beta +1 or -1, then learnable.")
        return ("Grey: the ReLU outputs 0 there. A learnable beta lets each unit choose its own "
                "threshold. **Try** frozen with beta 0 and watch the BN net's share of zero "
                "outputs settle near one half.")
    if cfg.activation not in ("sigmoid", "tanh"):
        return "A linear activation has no zones: choose sigmoid, tanh or ReLU."
    if cfg.affine == "frozen":
        return (f"Green band: near-linear zone; red: saturated. With gamma = {cfg.gamma_value:g} "
                f"and beta = {cfg.beta_value:g} frozen, each BN unit's input has mean "
                f"{cfg.beta_value:g} and spread {cfg.gamma_value:g} over every batch, whatever "
                "the weights do. **Try** gamma 0.3 (squeezed into the linear zone), gamma 4 "
                "(pushed into saturation), then learnable.")
    return ("Green band: near-linear zone; red: saturated. With learnable gamma and beta the BN "
            "net may widen (gamma > 1) and shift (beta) its inputs out of the middle. **Try** "
            "frozen at gamma 1, beta 0 and compare the near-linear shares.")


def zones_hint(cfg) -> str:
    if cfg.affine == "undo":
        return ("In undo mode the two nets' lines lie on top of each other: the BN net computes "
                "exactly what the plain net computes (see the accuracy note below).")
    if cfg.activation == "relu":
        return ("Solid: share of outputs that are 0; dotted: units that are 0 for every probe "
                "example (dead). In the BN net a unit can only die if beta pushes its whole "
                "batch below 0.")
    if cfg.activation in ("sigmoid", "tanh"):
        return ("The plain net starts with small weights, mostly in the near-linear zone, and "
                "leaves it as its weights grow; the BN net's shares move only as far as gamma "
                "and beta let them.")
    return ""


def accuracy_text(snap) -> str:
    cfg = snap.config
    rows = [f"- **{v.label}**: {v.evals[METRIC][-1]:.0%} at step {int(v.evals['step'][-1]):,} "
            f"({v.status_text})" for v in snap.nets.values() if len(v.evals.get(METRIC, ()))]
    text = "**Held-out accuracy**\n" + "\n".join(rows) + "\n\n"
    if cfg.affine == "undo":
        return text + undo_text(snap)
    if (cfg.activation in ("sigmoid", "tanh") and cfg.affine == "frozen"
            and cfg.beta_value == 0 and cfg.dataset in ("circles", "xor")):
        return text + ("With beta frozen at 0 every unit of the BN net switches at its batch "
                       "mean, and on this symmetric data set that leaves it no way to fence in "
                       "one class. **Try** beta 0.5 with gamma still frozen, then learnable.")
    if cfg.activation == "relu":
        return text + ("For ReLU, gamma matters little: scaling a ReLU's input scales its "
                       "output. **Try** the sigmoid to see gamma and beta matter.")
    return text + "**Try** the other modes and compare the BN net's curve with this one."


def undo_text(snap) -> str:
    plain, bn = snap.nets.get("plain"), snap.nets.get("bn")
    text = ("Undoing the normalisation gives the BN net back the plain net's input to every "
            "nonlinearity: y = sqrt(var_B + eps) * xhat + mu_B = x, and the gradient passes "
            "through unchanged, so the BN net trains exactly as the plain one. ")
    if plain is None or bn is None or not len(bn.evals.get(METRIC, ())):
        return text
    apart = first_disagreement(bn.evals["step"], plain.evals[METRIC], bn.evals[METRIC],
                               UNDO_TOLERANCE)
    if apart is None:
        return text + (f"Here the two accuracy curves agree within {UNDO_TOLERANCE:.0%} at "
                       "every evaluation so far.")
    return text + (f"Here they agree until step {apart:,} and then part by more than "
                   f"{UNDO_TOLERANCE:.0%}: floating-point rounding in the normalise-and-undo "
                   "arithmetic grows over many steps of training.")


def affine_text(snap, layer: int) -> str:
    pr = snap.nets["bn"].probes
    if snap.config.affine == "undo":
        return ("Undo mode: each BN layer multiplies back by sqrt(var_B + eps) and adds mu_B of "
                "the current batch. Left, these for the probed unit over training; right, every "
                "unit of the layer now. They follow the net's own drifting statistics.")
    if len(pr.get("step", ())) == 0 or "gamma_mean_abs" not in pr:
        return "No BN statistics recorded yet."
    g, b = float(pr["gamma_mean_abs"][-1, layer]), float(pr["beta_mean"][-1, layer])
    if snap.config.affine == "frozen":
        return (f"Frozen: the lines stay flat at gamma = {g:.2f}, beta = {b:.2f}, and every unit "
                "is the same dot on the right.")
    return (f"Learnt so far in layer {layer + 1}: mean |gamma| = {g:.2f}, mean beta = {b:.2f}. "
            "A gamma above 1 spreads the input beyond the linear zone; each unit's beta sets "
            "where it switches. Right: every unit's own pair.")


ui.page_header(
    "gamma and beta: why BN scales and shifts", "T7",
    "BN first normalises each unit's input over the batch to mean 0 and variance 1, then "
    "multiplies by **gamma** and adds **beta**. Why not stop after normalising? A sigmoid fed "
    "inputs of mean 0 and variance 1 works mostly in its **near-linear middle** (for a normal "
    "input, 95% of its outputs lie between 0.12 and 0.88), and every unit's threshold sits at "
    "the batch mean. Below, a plain net and a BN net train on the same batches; choose how the "
    "BN net's gamma and beta behave and watch what its units see.")

with ui.guard("the gamma and beta page"):
    config = ui.config_controls(BASE, SETTINGS_SHOWN,
                                limits={"dataset": {"choices": DATASETS_OFFERED}})
    layer_setting = Setting(name="layer", kind=int, default=min(3, config.depth),
                            label="Layer shown", lo=1, hi=config.depth, url="layer",
                            help="Which hidden layer's nonlinearity input to draw.")
    layer = min(int(ui.view_controls([layer_setting])["layer"]), config.depth) - 1
    if config.affine != "frozen":
        st.sidebar.caption("The gamma and beta sliders act only when gamma and beta are frozen.")
    run = ui.run_controls(config)
    st.markdown("gamma and beta are " + MODE_WORDS[config.affine].format(
        g=config.gamma_value, b=config.beta_value) + ".")

    def render(snap):
        if not snap.nets or snap.edges is None:
            st.info("Preparing the run...")
            return
        c1, c2 = st.columns([3, 1])
        with c1:
            ui.chart(activation_input_figure, snap, layer, key="gb:curve")
        with c2:
            ui.explain(layer_now(snap, layer))
            ui.explain(curve_hint(snap.config))
        c1, c2 = st.columns([3, 1])
        with c1:
            ui.chart(zone_fraction_figure, snap, layer, key="gb:zones")
        with c2:
            ui.explain(f"The same layer over training ({zone_rule(snap.config.activation)}).")
            ui.explain(zones_hint(snap.config))
        c1, c2 = st.columns([3, 1])
        with c1:
            ui.chart(heldout_accuracy_chart, snap, key="gb:acc")
        with c2:
            ui.explain(accuracy_text(snap))
        if snap.config.is_toy and snap.config.grid_resolution > 0:
            ui.chart(boundary_figure, snap, key="gb:boundary", show_test=False, height=380)
        if "bn" in snap.nets:
            c1, c2 = st.columns([3, 1])
            with c1:
                ui.chart(affine_figure, snap, layer, key="gb:affine")
            with c2:
                ui.explain(affine_text(snap, layer))
        ui.export_controls(snap, "gamma-beta")

    if run is not None:
        ui.live_view(run, render)
    ui.share_link()
