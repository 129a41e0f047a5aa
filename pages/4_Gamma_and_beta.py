"""gamma and beta (T7): why BN scales and shifts after normalising. Learnable, frozen at slider
values, or set to undo the normalisation; what the sigmoid (or ReLU) sees; near-linear,
saturated and dead units; the learnt gamma and beta."""
import math

import streamlit as st

import bnlab_ui as ui
from bn_core.config import RunConfig, Setting
from bn_core.figures.activations import (activation_input_figure, affine_figure, latest_value,
                                         output_range, zone_fraction_figure, zone_rule)
from bn_core.figures.boundaries import boundary_figure
from bn_core.figures.figure1 import accuracy_figure

# Circles: a task that needs every unit to choose its own threshold. With gamma = 1, beta = 0
# frozen, the BN net's sigmoid inputs stay centred on 0; ~20 s at 100 steps/s.
BASE = RunConfig(dataset="circles", n_samples=400, noise=0.1, depth=3, width=32,
                 activation="sigmoid", affine="frozen", gamma_value=1.0, beta_value=0.0,
                 lr=0.5, batch_size=30, steps=2000, probe_every=20, eval_every=20,
                 grid_resolution=40, heldout_size=500, pace=100.0)
SETTINGS_SHOWN = ["affine", "gamma_value", "beta_value", "activation", "dataset", "depth",
                  "width", "lr", "steps", "seed"]
MODE_WORDS = {
    "learnable": "**learnable**: the net learns one gamma and one beta per unit",
    "frozen": "**frozen** at the sliders' values: every unit gets gamma = {g:g}, beta = {b:g}",
    "undo": "**set to undo the normalisation**: gamma = sqrt(var_B + eps), beta = mu_B of each "
            "batch, so every BN layer outputs exactly its input",
}


def pct(x: float) -> str:
    return "n/a" if x is None or math.isnan(x) else f"{x:.0%}"


ui.page_header(
    "gamma and beta: why BN scales and shifts", "T7",
    "BN first normalises each unit's input over the batch to mean 0 and variance 1, then "
    "multiplies by **gamma** and adds **beta**. Why not stop after normalising? A sigmoid fed "
    "inputs of mean 0 and variance 1 works mostly in its **near-linear middle** (95% of its "
    "outputs between about 0.12 and 0.88), and every unit's threshold sits at the batch mean. "
    "Below, a plain net and a BN net train on the same batches; choose how the BN net's gamma "
    "and beta behave and watch what its units see.")

with ui.guard("the gamma and beta page"):
    config = ui.config_controls(BASE, SETTINGS_SHOWN)
    view = ui.view_controls([Setting(name="layer", kind=int, default=min(3, config.depth), label="Layer shown",
                                     lo=1, hi=config.depth, url="layer",
                                     help="Which hidden layer's nonlinearity input to draw.")])
    layer = min(int(view["layer"]), config.depth) - 1
    if config.affine != "frozen":
        st.sidebar.caption("The gamma and beta sliders only act when gamma and beta are frozen.")
    run = ui.run_controls(config)
    st.markdown("gamma and beta are " + MODE_WORDS[config.affine].format(
        g=config.gamma_value, b=config.beta_value) + ".")

    def render(snap):
        if not snap.nets or snap.edges is None:
            st.info("Preparing the run...")
            return
        act = snap.config.activation
        names = list(snap.nets)
        c1, c2 = st.columns([3, 1])
        with c1:
            ui.chart(activation_input_figure, snap, layer, key="gb:curve")
        with c2:
            rows = []
            for name in names:
                v = snap.nets[name]
                hist = v.latest.get("hist")
                if act in ("sigmoid", "tanh"):
                    lin = latest_value(v, "linear_zone", layer)
                    sat = latest_value(v, "saturated", layer)
                    lo, hi = (output_range(hist[layer], snap.edges, act)
                              if hist is not None else (math.nan, math.nan))
                    rows.append(f"- **{v.label}**: {pct(lin)} near-linear, {pct(sat)} saturated; "
                                f"95% of outputs in [{lo:.2f}, {hi:.2f}]")
                elif act == "relu":
                    zero = latest_value(v, "zero_outputs", layer)
                    dead = latest_value(v, "dead_units", layer)
                    rows.append(f"- **{v.label}**: {pct(zero)} of outputs are 0, "
                                f"{pct(dead)} of units dead")
                else:
                    rows.append(f"- **{v.label}**: a linear activation has no zones")
            ui.explain(f"**Layer {layer + 1} now** (step {snap.step:,}):\n" + "\n".join(rows))
            ui.explain(_curve_hint(snap.config))
        c1, c2 = st.columns([3, 1])
        with c1:
            ui.chart(zone_fraction_figure, snap, layer, key="gb:zones")
        with c2:
            ui.explain(f"The same layer over training ({zone_rule(act)}).")
            ui.explain(_zones_hint(snap.config))
        c1, c2 = st.columns([3, 1])
        metric = "heldout_acc"
        with c1:
            ui.chart(lambda s: accuracy_figure(s.nets, metric, "Held-out accuracy of both "
                                               "nets", 320), snap, key="gb:acc")
        with c2:
            rows = []
            for name in names:
                ev = snap.nets[name].evals
                if len(ev.get(metric, ())):
                    rows.append(f"- **{snap.nets[name].label}**: {ev[metric][-1]:.0%} at step "
                                f"{int(ev['step'][-1]):,} ({snap.nets[name].status_text})")
            ui.explain("**Held-out accuracy**\n" + "\n".join(rows))
            ui.explain(_accuracy_hint(snap.config))
        if snap.config.is_toy and snap.config.grid_resolution > 0:
            ui.chart(boundary_figure, snap, key="gb:boundary", show_test=False, height=380)
        if "bn" in snap.nets:
            c1, c2 = st.columns([3, 1])
            with c1:
                ui.chart(affine_figure, snap, layer, key="gb:affine")
            with c2:
                ui.explain(_affine_text(snap, layer))
        ui.export_controls(snap, "gamma-beta")

    def _curve_hint(cfg) -> str:
        squashing = cfg.activation in ("sigmoid", "tanh")
        if cfg.affine == "undo":
            return ("BN hands back its input unchanged, so both panels show the same kind of "
                    "distribution: the plain net's.")
        if cfg.activation == "relu":
            if cfg.affine == "frozen":
                return (f"Grey: the ReLU outputs 0 there. With beta frozen at {cfg.beta_value:g}, "
                        "BN puts each unit's batch mean at beta, so with beta = 0 about half of "
                        "its outputs are 0. **Try** beta +1 or -1, then learnable.")
            return ("Grey: the ReLU outputs 0 there. A learnable beta lets each unit choose its "
                    "own threshold. **Try** frozen with beta 0 and watch the BN net's share of "
                    "zero outputs settle near one half.")
        if not squashing:
            return "A linear activation has no zones: choose sigmoid, tanh or ReLU."
        if cfg.affine == "frozen":
            return (f"Green band: near-linear zone; red: saturated. With gamma = "
                    f"{cfg.gamma_value:g} and beta = {cfg.beta_value:g} frozen, each BN unit's "
                    f"input keeps mean {cfg.beta_value:g} and spread {cfg.gamma_value:g} over "
                    "every batch, whatever the weights do. **Try** gamma 0.3 (squeezed into the "
                    "linear zone), gamma 4 (pushed into saturation), then learnable.")
        return ("Green band: near-linear zone; red: saturated. With learnable gamma and beta the "
                "BN net may widen (gamma > 1) and shift (beta) its inputs out of the middle. "
                "**Try** frozen at gamma 1, beta 0 and compare the near-linear shares.")

    def _zones_hint(cfg) -> str:
        if cfg.affine == "undo":
            return "In undo mode the two nets' lines should lie almost on top of each other."
        if cfg.activation == "relu":
            return ("Solid: share of outputs that are 0; dotted: units that are 0 for every probe "
                    "example (dead). BN keeps every unit alive: each batch has inputs on both "
                    "sides of the threshold unless beta pushes them all below.")
        if cfg.activation in ("sigmoid", "tanh"):
            return ("The plain net starts with small weights, mostly in the near-linear zone, and "
                    "leaves it as its weights grow; the BN net's shares move only as far as gamma "
                    "and beta let them.")
        return ""

    def _accuracy_hint(cfg) -> str:
        if (cfg.activation in ("sigmoid", "tanh") and cfg.affine == "frozen"
                and cfg.beta_value == 0 and cfg.dataset in ("circles", "xor")):
            return ("With beta frozen at 0 every unit of the BN net switches at its batch mean, "
                    "so it cannot draw a closed boundary around the inner circle. **Try** beta "
                    "0.5 with gamma still frozen, then learnable.")
        if cfg.affine == "undo":
            return ("Undoing the normalisation makes the BN net compute what the plain net "
                    "computes (its linear layers have no bias: beta replaces it), so the curves "
                    "match.")
        if cfg.activation == "relu":
            return ("For ReLU, gamma matters little: scaling a ReLU's input scales its output. "
                    "**Try** the sigmoid to see gamma and beta matter.")
        return "**Try** the other modes and compare the BN net's curve with this one."

    def _affine_text(snap, layer: int) -> str:
        v = snap.nets["bn"]
        pr = v.probes
        if snap.config.affine == "undo":
            return ("In undo mode each BN layer multiplies back by sqrt(var_B + eps) and adds "
                    "mu_B of the current batch: left, these for the probed unit over training; "
                    "right, every unit of the layer now. They follow the plain net's own "
                    "statistics, which keep drifting.")
        if len(pr.get("step", ())) == 0 or "gamma_mean_abs" not in pr:
            return "No BN statistics recorded yet."
        g = float(pr["gamma_mean_abs"][-1, layer])
        b = float(pr["beta_mean"][-1, layer])
        if snap.config.affine == "frozen":
            return (f"Frozen: the lines stay flat at gamma = {g:.2f}, beta = {b:.2f}. Every "
                    "unit is the same dot on the right.")
        return (f"Learnt so far in layer {layer + 1}: mean |gamma| = {g:.2f}, mean beta = "
                f"{b:.2f}. Gamma above 1 spreads the sigmoid's input beyond the linear zone; "
                "each unit's beta sets where it switches. Right: every unit's own pair.")

    if run is not None:
        ui.live_view(run, render)
    ui.share_link()
