"""BN, LayerNorm and GroupNorm at tiny batches (Wu and He 2018): one run per batch size, 2 to
128, each training the three nets side by side; why BN degrades (noisy batch statistics) and
its gap between training and eval mode."""
import streamlit as st

import bnlab_ui as ui
from bnlab_ui import language
from bn_core.config import Setting
from bn_core.figures.small_batches import (mode_gap_chart, run_accuracy_chart,
                                           statistics_noise_chart, sweep_accuracy_chart)
from bn_core.i18n import N_, _
from bn_core.lessons import small_batches as sb
from bnlab_ui.charts import show_figure

SIZES = tuple(str(m) for m in sb.SWEEP_BATCH_SIZES)

language.setup()  # the page's language, before `more` is filled in (the frame does it again)
lesson = ui.Lesson(
    N_("BN, LayerNorm and GroupNorm at tiny batches"),
    N_("One run per batch size, from 2 to 128 images, each training a **BN**, a **LayerNorm** "
       "and a **GroupNorm** net on the same digits for the same number of examples. Which one "
       "breaks down when a batch holds only a few images?"),
    more=_("BN normalises each unit with the mean and variance *of the batch*; LayerNorm "
         "and GroupNorm use the statistics of each example's own units (all of them, or groups of "
         "them), so they do not depend on the batch at all. Wu and He (2018) report BN's "
         "ImageNet error rising from 23.6% at 32 images per GPU to 34.7% at 2, while GroupNorm "
         "stays near 24%. Here the same question is asked on MNIST, live.\n\n"
         "Every run sees {epochs} epochs of the {digits:,} training digits, "
         "so smaller batches take more steps; the learning rate is {lr:g} at "
         "batch {batch} and grows in proportion to the batch (the linear scaling "
         "rule of Goyal et al. 2017, BN Lab's choice, as Wu and He did). At inference BN "
         "replaces batch statistics by running averages collected in training: from batches "
         "of 2 those averages are noisy too, which is the train/eval gap measured below.").format(
             epochs=sb.SWEEP_EPOCHS, digits=sb.TRAIN_SET_SIZE, lr=sb.LR_AT_REFERENCE,
             batch=sb.REFERENCE_BATCH),
    icon=":material/stacked_bar_chart:")

with ui.guard(N_("the small-batches page")):
    view = lesson.views([
        Setting("sizes", tuple, SIZES, N_("Batch sizes in the sweep"), choices=SIZES,
                item_kind=str, url="sizes",
                help=N_("One run per batch size; fewer sizes, fewer runs to wait for.")),
    ])
    sizes = sorted(int(m) for m in view["sizes"]) or list(sb.SWEEP_BATCH_SIZES)
    config = lesson.settings(sb.SWEEP_BASE, ["lr", "groups", "seed"],
                             limits={"lr": {"lo": sb.min_lr_at_reference(),
                                            "hi": sb.max_lr_at_reference()}},
                             labels={"lr": _("Learning rate at batch {batch} (scaled with "
                                             "the batch)").format(batch=sb.REFERENCE_BATCH)})
    detail = lesson.views([
        Setting("detail", str, str(sizes[0]), N_("Run shown in detail"),
                choices=tuple(str(m) for m in sizes), url="detail",
                help=N_("The batch size whose accuracy curves are drawn in the last chart.")),
    ], labels={"detail": {str(m): _("batch {m}").format(m=m) for m in sizes}})["detail"]
    configs = sb.sweep_configs(sizes, config)
    runs = lesson.run(configs)

    def points_of(snaps):
        return [sb.sweep_point(s) for s in snaps if s.nets]

    def accuracy(snaps, brief):
        points = points_of(snaps)
        lines = sb.sweep_findings(points)
        c1, c2 = st.columns([3, 2])
        with c1:
            show_figure(sweep_accuracy_chart(points, sizes), key="sweep:acc")
        with c2:
            if brief:
                st.markdown(lines[1] if len(lines) > 1 else sb.sweep_progress(points))
                return
            st.markdown(sb.sweep_progress(points))
            st.markdown("\n\n".join(f"- {t}" for t in lines) or
                        _("The sentences appear once the batch-{batch} run and a smaller one "
                          "have finished.").format(batch=sb.REFERENCE_BATCH))
            st.caption(_("**Look for** the blue BN line at batch 2 and 4 against the black "
                         "LayerNorm and yellow GroupNorm lines. **Try** fewer batch sizes (2, "
                         "4, 32) to get the answer sooner."))

    def noise(snaps, brief):
        result = sb.noise_at_start(config)
        c1, c2 = st.columns([3, 2])
        with c1:
            show_figure(statistics_noise_chart(result), key="sweep:noise")
        with c2:
            st.markdown(sb.noise_sentence(result))
            if not brief:
                st.caption(_("Measured on {count:,} random batches of each size from the "
                             "training digits, through the nets' initial weights (the same for "
                             "every run of the sweep). BN divides by the batch's own standard "
                             "deviation: from 2 values it is almost anything.").format(
                                 count=sb.NOISE_BATCHES))

    def modes(snaps, brief):
        points = points_of(snaps)
        lines = sb.mode_findings(points)
        c1, c2 = st.columns([3, 2])
        with c1:
            show_figure(mode_gap_chart(points), key="sweep:modes")
        with c2:
            st.markdown("\n\n".join(lines) or _("Measured once the smallest batch's run "
                                                 "has finished."))
            if not brief:
                st.caption(_("Eval mode uses the running averages of batch statistics; "
                             "training mode normalises each batch of the run's size with its "
                             "own statistics. LayerNorm and GroupNorm have no batch "
                             "statistics: their two modes are the same function."))

    def one_run(snaps, brief):
        chosen = next((s for s in snaps if s.config.batch_size == int(detail)), snaps[0])
        if not chosen.nets:
            st.info(_("The batch-{batch} run is starting...").format(
                batch=chosen.config.batch_size))
            return
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(run_accuracy_chart, chosen, key="sweep:detail")
        with c2:
            point = sb.sweep_point(chosen)
            st.markdown("\n".join(
                _("- **{net}**: {acc:.1%} held-out at step {step:,}").format(
                    net=_(r.label), acc=r.heldout_acc, step=r.step)
                for r in point.nets.values()))
            if not brief:
                st.caption(_("lr {lr:g}, {steps:,} steps of {batch} images ({examples:,} "
                             "examples seen). **Try** another run in the sidebar (Run shown in "
                             "detail).").format(lr=point.lr, steps=point.steps,
                                                batch=point.batch_size,
                                                examples=point.examples))
        if not brief:
            with st.expander(_("Export this run")):
                ui.export_controls(chosen, f"small-batches-{chosen.config.batch_size}")

    lesson.section(N_("Accuracy by batch size"), accuracy,
                   say=N_("Which normalisation falls apart at batches of 2 and 4?"))
    lesson.section(N_("Why: noisy batch statistics"), noise,
                   say=N_("From two images, a batch's mean and variance are almost anything."))
    lesson.section(N_("BN's two modes"), modes,
                   say=N_("Training mode and eval mode disagree when the batches are tiny."))
    lesson.section(N_("One run in detail"), one_run,
                   say=N_("The same three nets, step by step."))
    lesson.live(runs, scrubber=False)
