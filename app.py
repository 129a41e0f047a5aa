"""BN Lab home page: what internal covariate shift and batch normalization are, a small live
twin run, and the map of lessons."""
import streamlit as st

import bnlab_ui as ui
from bn_core.config import RunConfig
from bn_core.figures.boundaries import boundary_figure
from bn_core.figures.figure1 import accuracy_figure

HOME_RUN = RunConfig(dataset="moons", n_samples=300, noise=0.2, depth=4, width=32,
                     activation="sigmoid", lr=0.5, batch_size=30, steps=3000, probe_every=20,
                     eval_every=20, grid_resolution=50, pace=150.0)

LESSONS = [
    ("pages/1_Figure_1_live.py", "Figure 1, live", "T3, T4",
     "The BN paper's MNIST experiment, both nets side by side: accuracy and the percentile "
     "bands of a sigmoid's input."),
    ("pages/2_Covariate_shift.py", "Covariate shift and boundaries", "T1, T2",
     "A boundary learnt on training data meets shifted test data; whitening and data far "
     "from the origin."),
    ("pages/3_Internal_covariate_shift.py", "Internal covariate shift", "T3, T6",
     "Every hidden layer's input distribution over training; BN before or after the activation."),
    ("pages/4_Gamma_and_beta.py", "gamma and beta", "T7",
     "Why BN scales and shifts after normalising: saturated, near-linear and dead units."),
    ("pages/5_Shuffling.py", "Shuffling", "T8",
     "Batches sorted by class versus shuffled: each batch's label mix and what the nets learn."),
    ("pages/6_Gradients_and_learning_rates.py", "Gradients and learning rates", "T5, T9",
     "Vanishing and exploding gradients, depth, init scale, and BN-x5 / x30 learning rates."),
    ("pages/7_Inside_the_BN_layer.py", "Inside the BN layer", "T10, T11, T12",
     "Algorithm 1 on a batch you edit, the backward pass node by node, train vs eval mode, "
     "convolutional BN."),
    ("pages/8_Does_BN_reduce_ICS.py", "Does BN really reduce ICS?", "T13",
     "Santurkar et al. 2018: measure internal covariate shift by gradients, try noisy BN."),
]

ui.page_header(
    "BN Lab: watch batch normalization work", "overview",
    "**Internal covariate shift** is the name Ioffe and Szegedy (2015) gave to a simple fact: "
    "while a deep network trains, every layer's weights change, so the *inputs* that each "
    "higher layer sees keep changing their distribution (mean, spread) under it. "
    "**Batch normalization** (BN) normalises each unit's input over the mini-batch to zero "
    "mean and unit variance, then lets the net rescale it with a learnt **gamma** and shift "
    "it with a learnt **beta**. Below, two small networks train *right now* on the same "
    "batches from the same starting weights: one plain, one with BN. Every difference you "
    "see is BN's.")

with ui.guard("the home page"):
    run = ui.run_controls(HOME_RUN)
    st.markdown("**What to look for.** The BN net's boundary (right) usually bends around "
                "the two moons within a few hundred steps; the plain net's (left) is still "
                "a nearly straight line. The accuracy chart tells the same story in numbers.")

    def render(snap):
        if not snap.nets:
            st.info("Preparing the run...")
            return
        ui.chart(boundary_figure, snap, key="home:boundary", show_test=False, height=380)
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(lambda s: accuracy_figure(s.nets, "train_acc",
                                               "Training accuracy of both nets", 300),
                     snap, key="home:acc")
        with c2:
            rows = []
            for name, view in snap.nets.items():
                acc = view.evals.get("train_acc")
                if acc is not None and len(acc):
                    rows.append(f"- **{view.label}**: {acc[-1]:.0%} of training points right "
                                f"at step {int(view.evals['step'][-1]):,} ({view.status_text})")
            st.markdown("**Measured on this run**\n" + "\n".join(rows))
            st.caption("Same data, same batches, same initial weights: only BN differs.")

    if run is not None:
        ui.live_view(run, render)

    st.header("The lessons")
    cols = st.columns(2)
    for i, (path, title, points, blurb) in enumerate(LESSONS):
        with cols[i % 2].container(border=True):
            st.page_link(path, label=f"**{title}**", icon=":material/school:")
            st.caption(f"{points}: {blurb}")
    st.caption("Each page trains its own twin nets on the server; everyone who opens a page with "
               "the same settings watches the same run. Settings live in the page's URL: share "
               "the link to share the exact experiment.")
