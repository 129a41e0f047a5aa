"""BN, LayerNorm and GroupNorm at tiny batches (Wu and He 2018): one run per batch size, 2 to
128, each training the three nets side by side; why BN degrades (noisy batch statistics) and
its gap between training and eval mode."""
import streamlit as st

import bnlab_ui as ui
from bn_core.config import Setting
from bn_core.figures.small_batches import (mode_gap_chart, run_accuracy_chart,
                                           statistics_noise_chart, sweep_accuracy_chart)
from bn_core.lessons import small_batches as sb
from bnlab_ui.charts import show_figure

SIZES = tuple(str(m) for m in sb.SWEEP_BATCH_SIZES)
MODE_WORDS = ("**BN's two modes", "BN at batch")


def is_mode_line(text: str) -> bool:
    return text.startswith(MODE_WORDS)


lesson = ui.Lesson(
    "BN, LayerNorm and GroupNorm at tiny batches",
    "One run per batch size, from 2 to 128 images, each training a **BN**, a **LayerNorm** and a "
    "**GroupNorm** net on the same digits for the same number of examples. Which one breaks "
    "down when a batch holds only a few images?",
    more="BN normalises each unit with the mean and variance *of the batch*; LayerNorm and "
         "GroupNorm use the statistics of each example's own units (all of them, or groups of "
         "them), so they do not depend on the batch at all. Wu and He (2018) report BN's "
         "ImageNet error rising from 23.6% at 32 images per GPU to 34.7% at 2, while GroupNorm "
         "stays near 24%. Here the same question is asked on MNIST, live.\n\n"
         f"Every run sees {sb.SWEEP_EPOCHS} epochs of the {sb.TRAIN_SET_SIZE:,} training digits, "
         f"so smaller batches take more steps; the learning rate is {sb.LR_AT_REFERENCE:g} at "
         f"batch {sb.REFERENCE_BATCH} and grows in proportion to the batch (the linear scaling "
         "rule of Goyal et al. 2017, BN Lab's choice, as Wu and He did). At inference BN "
         "replaces batch statistics by running averages collected in training: from batches "
         "of 2 those averages are noisy too, which is the train/eval gap measured below.",
    icon=":material/stacked_bar_chart:")

with ui.guard("the small-batches page"):
    view = lesson.views([
        Setting("sizes", tuple, SIZES, "Batch sizes in the sweep", choices=SIZES, item_kind=str,
                url="sizes", help="One run per batch size; fewer sizes, fewer runs to wait for."),
    ])
    sizes = sorted(int(m) for m in view["sizes"]) or list(sb.SWEEP_BATCH_SIZES)
    config = lesson.settings(sb.SWEEP_BASE, ["lr", "groups", "seed"],
                             limits={"lr": {"lo": sb.min_lr_at_reference(),
                                            "hi": sb.max_lr_at_reference()}},
                             labels={"lr": f"Learning rate at batch {sb.REFERENCE_BATCH} "
                                           "(scaled with the batch)"})
    detail = lesson.views([
        Setting("detail", str, str(sizes[0]), "Run shown in detail",
                choices=tuple(str(m) for m in sizes), url="detail",
                help="The batch size whose accuracy curves are drawn in the last chart."),
    ], labels={"detail": {str(m): f"batch {m}" for m in sizes}})["detail"]
    configs = sb.sweep_configs(sizes, config)
    runs = lesson.run(configs)

    def points_of(snaps):
        return [sb.sweep_point(s) for s in snaps if s.nets]

    def accuracy(snaps, brief):
        points = points_of(snaps)
        lines = [t for t in sb.findings(points) if not is_mode_line(t)]
        c1, c2 = st.columns([3, 2])
        with c1:
            show_figure(sweep_accuracy_chart(points, sizes), key="sweep:acc")
        with c2:
            if brief:
                st.markdown(lines[1] if len(lines) > 1 else sb.sweep_progress(points))
                return
            st.markdown(sb.sweep_progress(points))
            st.markdown("\n\n".join(f"- {t}" for t in lines) or
                        f"The sentences appear once the batch-{sb.REFERENCE_BATCH} run and a "
                        "smaller one have finished.")
            st.caption("**Look for** the blue BN line at batch 2 and 4 against the black "
                       "LayerNorm and yellow GroupNorm lines. **Try** fewer batch sizes (2, 4, "
                       "32) to get the answer sooner.")

    def noise(snaps, brief):
        result = sb.noise_at_start(config)
        c1, c2 = st.columns([3, 2])
        with c1:
            show_figure(statistics_noise_chart(result), key="sweep:noise")
        with c2:
            st.markdown(sb.noise_sentence(result))
            if not brief:
                st.caption(f"Measured on {sb.NOISE_BATCHES:,} random batches of each size from "
                           "the training digits, through the nets' initial weights (the same "
                           "for every run of the sweep). BN divides by the batch's own "
                           "standard deviation: from 2 values it is almost anything.")

    def modes(snaps, brief):
        points = points_of(snaps)
        lines = [t for t in sb.findings(points) if is_mode_line(t)]
        c1, c2 = st.columns([3, 2])
        with c1:
            show_figure(mode_gap_chart(points), key="sweep:modes")
        with c2:
            st.markdown("\n\n".join(lines) or "Measured once the smallest batch's run has "
                                               "finished.")
            if not brief:
                st.caption("Eval mode uses the running averages of batch statistics; training "
                           "mode normalises each batch of the run's size with its own "
                           "statistics. LayerNorm and GroupNorm have no batch statistics: "
                           "their two modes are the same function.")

    def one_run(snaps, brief):
        chosen = next((s for s in snaps if s.config.batch_size == int(detail)), snaps[0])
        if not chosen.nets:
            st.info(f"The batch-{chosen.config.batch_size} run is starting...")
            return
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(run_accuracy_chart, chosen, key="sweep:detail")
        with c2:
            point = sb.sweep_point(chosen)
            st.markdown("\n".join(
                f"- **{r.label}**: {r.heldout_acc:.1%} held-out at step {r.step:,}"
                for r in point.nets.values()))
            if not brief:
                st.caption(f"lr {point.lr:g}, {point.steps:,} steps of {point.batch_size} "
                           f"images ({point.examples:,} examples seen). **Try** another run "
                           "in the sidebar (Run shown in detail).")
        if not brief:
            with st.expander("Export this run"):
                ui.export_controls(chosen, f"small-batches-{chosen.config.batch_size}")

    lesson.section("Accuracy by batch size", accuracy,
                   say="Which normalisation falls apart at batches of 2 and 4?")
    lesson.section("Why: noisy batch statistics", noise,
                   say="From two images, a batch's mean and variance are almost anything.")
    lesson.section("BN's two modes", modes,
                   say="Training mode and eval mode disagree when the batches are tiny.")
    lesson.section("One run in detail", one_run, say="The same three nets, step by step.")
    lesson.live(runs, scrubber=False)
