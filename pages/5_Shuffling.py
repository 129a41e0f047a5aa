"""Shuffling (T8): batches sorted by class versus shuffled; each batch's label mix and what the
plain and the BN net learn from them."""
import functools

import streamlit as st

import bnlab_ui as ui
from bn_core.config import TOY_DATASETS, RunConfig
from bn_core.engine.run_data import load_data
from bn_core.i18n import N_, _
from bn_core.figures.batches import label_mix_figure, shuffle_accuracy_chart
from bn_core.figures.shift import decision_regions_chart
from bn_core.lessons import data_order as text
from bn_core.presets import lesson_setup
from bnlab_ui import charts

# Two rings, batches of 10, sorted by class: every batch holds one class, and both nets stay at
# chance (50 %); fully shuffled, both pass 90 % within about a thousand steps (check-claims T8).
BASE = lesson_setup("shuffling")
SETTINGS = ["shuffle", "dataset", "batch_size", "n_samples", "noise", "lr"]


@functools.lru_cache(maxsize=64)
def batch_mix(config: RunConfig, theme: str):
    """The label mix of the run's first batches (its own schedule), the summary of it and the
    strip, prepared for the wire: it depends on the config only, not on the step."""
    data = load_data(config)
    counts = text.label_strip(data.y_train, data.n_classes, config.batch_size, config.shuffle,
                              config.seed, min(text.STRIP_BATCHES, config.steps))
    per_epoch = text.batches_per_epoch(len(data.y_train), config.batch_size)
    figure = charts.prepare(label_mix_figure(counts, config.batch_size, per_epoch, 250), theme)
    return figure, text.mix_summary(counts), len(counts), per_epoch


def regions_chart(snap):
    return decision_regions_chart(snap, False, 420)


lesson = ui.Lesson(
    N_("Shuffling: why data order matters"),
    N_("A plain and a BN net train on the same mini-batches, fed **sorted by class** (all of "
       "one class, then the next) or shuffled. Move *Shuffling* in the sidebar from sorted (0) "
       "to fully shuffled (1) and watch what they learn."),
    more=N_("Stochastic gradient descent assumes every mini-batch is a small, fair sample of the "
         "whole training set. Fed sorted by class with a small batch, every batch comes from "
         "a different distribution: each step pulls the net towards \"everything is this "
         "batch's class\", and the next batches undo it. BN adds a twist: it normalises each "
         "batch with that batch's own mean and variance, so in a one-class batch it subtracts "
         "away where the class lies."))

with ui.guard(N_("the shuffling page")):
    st.sidebar.header(_("Data order"))
    # 2-D data only: the page draws the decision regions and sorts batches by class label
    config = lesson.settings(BASE, SETTINGS, limits={"dataset": {"choices": TOY_DATASETS}})
    ui.share_link()
    run = lesson.run(config)

    def accuracy(snap, brief):
        if not snap.nets or snap.data is None:
            st.info(_("Preparing the data and the twin nets..."))
            return
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(shuffle_accuracy_chart, snap, 380, key="shuffle:acc")
        with c2:
            st.markdown(text.accuracy_rows(snap))
            st.markdown(text.verdict(snap))
            if not brief:
                _fig, mix, n, _per_epoch = batch_mix(snap.config, charts.chart_theme())
                st.markdown(_("The batches: **{share:.0%}** of the first {n} hold one class "
                              "({order}).").format(share=mix["single_class"], n=n,
                                                   order=text.order_words(snap.config.shuffle))
                            + "\n\n"
                            + _("**Try** *Shuffling* 0 and 1 to compare, 0.5 (partly sorted), a "
                                "larger batch, or the data set *Gaussian blobs (3)*."))

    def batches(snap, brief):
        figure, mix, n, per_epoch = batch_mix(snap.config, charts.chart_theme())
        c1, c2 = st.columns([3, 2])
        with c1:
            charts.show_figure(figure, key="shuffle:mix")
        with c2:
            st.markdown(text.mix_text(mix, n, per_epoch, snap.config.batch_size,
                                      snap.config.shuffle))
            if not brief:
                st.markdown(text.mix_look_for(mix, snap.config.shuffle))

    def regions(snap, brief):
        if not snap.nets or snap.data is None:
            return
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(regions_chart, snap, key="shuffle:boundary")
        with c2:
            st.markdown(text.region_shares(snap))
            if not brief:
                st.markdown(_("**Look for** how the regions change as the run goes on: drag "
                              "*Step shown* back and forth, with *Shuffling* 0 and then 1."))
        if not brief:
            with st.expander(_("Export this run")):
                ui.export_controls(snap, "shuffling")

    lesson.section(N_("Held-out accuracy"), accuracy,
                   say=N_("Which net gets past chance, with the batches in this order?"))
    lesson.section(N_("What each batch holds"), batches,
                   say=N_("Each column is one batch: how many classes does it hold?"))
    lesson.section(N_("Decision regions"), regions,
                   say=N_("What has each net learnt of the plane?"))
    lesson.live(run)
