"""Shuffling (T8): batches sorted by class versus shuffled; each batch's label mix and what the
plain and the BN net learn from them."""
import math

import streamlit as st

import bnlab_ui as ui
from bn_core.config import TOY_DATASETS
from bn_core.lessons.data_order import (STRIP_BATCHES, batches_per_epoch, label_strip, mix_summary,
                                recent_range)
from bn_core.figures.batches import label_mix_figure, shuffle_accuracy_chart
from bn_core.figures.shift import decision_regions_chart
from bn_core.figures.style import LIVE_CONFIG
from bn_core.engine.training import load_data
from bn_core.presets import lesson_setup

# Two rings, batches of 10, sorted by class: every batch holds one class, and both nets stay at
# chance (50 %); fully shuffled, both pass 90 % within about a thousand steps. Paced so that a
# run lasts about 20 s.
BASE = lesson_setup("shuffling")
SETTINGS = ["shuffle", "dataset", "batch_size", "n_samples", "noise", "lr"]


def pct(value) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.0%}"


def order_words(shuffle: float) -> str:
    if shuffle == 0.0:
        return "sorted by class"
    if shuffle == 1.0:
        return "fully shuffled"
    return f"{shuffle:.0%} of the way from sorted to shuffled"


ui.page_header(
    "Shuffling: why data order matters", "T8",
    "Stochastic gradient descent assumes every mini-batch is a small, fair sample of the whole "
    "training set. Feed the data **sorted by class** (all of one class, then all of the next) "
    "with a small batch, and every batch comes from a different distribution: each step pulls "
    "the net towards \"everything is this batch's class\", and the next batches undo it. Below, "
    "a plain and a BN net train on the same batches. The slider **Shuffling** goes from "
    "class-sorted (0) to fully shuffled (1).")

with ui.guard("the shuffling page"):
    st.sidebar.header("Data order")
    # 2-D data only: the page draws the decision regions and sorts batches by class label
    config = ui.config_controls(BASE, SETTINGS, limits={"dataset": {"choices": TOY_DATASETS}})
    ui.share_link()
    run = ui.run_controls(config)

    if run is not None:
        data = load_data(config)
        n_strip = min(STRIP_BATCHES, config.steps)
        counts = label_strip(data.y_train, data.n_classes, config.batch_size, config.shuffle,
                             config.seed, n_strip)
        per_epoch = batches_per_epoch(len(data.y_train), config.batch_size)
        mix = mix_summary(counts)
        c1, c2 = st.columns([3, 2])
        with c1:
            st.plotly_chart(label_mix_figure(counts, config.batch_size, per_epoch),
                            key="shuffle:mix", width="stretch", config=LIVE_CONFIG)
        with c2:
            st.markdown(
                f"**The batches this run is fed ({order_words(config.shuffle)})**\n"
                f"- {mix['single_class']:.0%} of the first {len(counts)} batches hold a single "
                f"class\n"
                f"- mean label entropy per batch: **{mix['entropy_bits']:.2f} bits** "
                f"(0 = one class per batch, {mix['max_bits']:.2f} = evenly mixed)\n"
                f"- one epoch = {per_epoch} batches of {config.batch_size}")
            look = ("**Look for** solid blocks: the nets see a long run of one class, then a "
                    "long run of the next, again every epoch."
                    if mix["single_class"] >= 0.5 else
                    "**Look for** the patchwork: most batches hold several classes in changing "
                    "proportions, a fair sample of the whole set.")
            ui.explain("Each column is one batch (one training step), each row a class; dark = "
                       f"most of the batch. {look}\n\n**Try** moving *Shuffling* "
                       + ("to 1 and watch the blocks break up." if config.shuffle < 1.0 else
                          "back to 0 and watch the blocks form."))

    def render(snap):
        if not snap.nets or snap.data is None:
            st.info("Preparing the data and the twin nets...")
            return
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(shuffle_accuracy_chart, snap, key="shuffle:acc")
        with c2:
            rows = []
            for name, view in snap.nets.items():
                acc = view.evals.get("heldout_acc")
                recent = recent_range(acc) if acc is not None else None
                if recent is None:
                    continue
                mean, lo, hi = recent
                rows.append(f"- **{view.label}**: **{pct(float(acc[-1]))}** now; over the last "
                            f"{min(len(acc), 10)} evaluations between {pct(lo)} and {pct(hi)}")
            chance = 1.0 / snap.data.n_classes
            st.markdown(f"**Held-out accuracy at step {snap.step:,}** (chance: {pct(chance)})\n"
                        + "\n".join(rows))
            stuck = [v.label for v in snap.nets.values()
                     if (r := recent_range(v.evals.get("heldout_acc", []))) and r[0] < chance + 0.1]
            if snap.step < 200:
                verdict = "The nets have only just started: give them a few hundred steps."
            elif stuck:
                verdict = (f"**{' and '.join(stuck)}** {'is' if len(stuck) == 1 else 'are'} still "
                           "within 10 points of chance: each run of one-class batches pulls the "
                           "net towards \"everything is this class\", and the next run undoes it.")
            else:
                verdict = "Both nets are well above chance: the batches are mixed enough to learn from."
            ui.explain(
                f"{verdict}\n\n"
                "**Try** *Shuffling* 0 and 1 to compare, 0.5 (partly sorted), a larger batch, or "
                "*blobs*: three well-separated blobs that the plain net learns even sorted, "
                "while the BN net does not: BN normalises each one-class batch by its own mean, "
                "and subtracts away where the batch lies, the very thing that tells the "
                "classes apart.")
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(decision_regions_chart, snap, False, 440, key="shuffle:boundary")
        with c2:
            st.markdown(f"**Decision regions at step {snap.step:,}**")
            ui.explain(
                "**Look for** how the regions change from one refresh to the next. Trained on "
                "sorted batches, a net tends to paint most of the plane in the colour of the "
                "class it saw last, and the colour flips as the batches change class. "
                "Shuffled, the boundary settles around the inner ring (on *circles*).")
        with st.expander("Export this run"):
            ui.export_controls(snap, "shuffling")

    if run is not None:
        ui.live_view(run, render)
