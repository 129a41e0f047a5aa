"""The live Figure 1 page's charts (T4), as builders of a RunSnapshot so a page can cache them
per step; they reuse the paper-figure pieces of `figure1`."""
from __future__ import annotations

from bn_core.config import CHOICE_LABELS
from bn_core.i18n import _
from bn_core.figures.figure1 import accuracy_figure, percentile_band_figure
from bn_core.figures.style import GUIDE, note, step_ticks, update_axes, vline

MARK_STEP = 300  # the early step the page quotes: where BN's head start is plain to see


def dataset_name(key: str) -> str:
    """A dataset as students read it ("MNIST: bundled 5,000-digit subset", not its key)."""
    return _(CHOICE_LABELS["dataset"].get(key, key))


def heldout_accuracy_chart(snap, mark_step: int = MARK_STEP, height: int = 380) -> dict:
    """Figure 1 (a): held-out accuracy of each net against steps, with `mark_step` marked."""
    fig = accuracy_figure(snap.nets, "heldout_acc",
                          _("(a) Held-out accuracy on {data} (test images never trained on)")
                          .format(data=dataset_name(snap.config.dataset)), height)
    layout = fig["layout"]
    if snap.total_steps >= mark_step:
        layout["shapes"] = [vline(mark_step, {"color": "#777777", "dash": "dot", "width": 1.5})]
        layout["annotations"] = [note(_("step {step}").format(step=mark_step), mark_step, 0,
                                      "x", "y domain", xanchor="left", yanchor="bottom",
                                      font={"color": GUIDE})]
    layout["xaxis"].update(step_ticks(snap.total_steps))
    return fig


def percentile_bands_chart(snap, layer: int, pooled: bool, height: int = 400) -> dict:
    """Figure 1 (b, c): each net's percentile band of one sigmoid input (or all units of the
    layer pooled), on shared axes, with the saturated zones shaded."""
    cfg = snap.config
    fig = percentile_band_figure(snap.nets, layer, cfg.activation, cfg.percentiles,
                                 pooled=pooled, unit=cfg.probe_unit, height=height)
    layout = fig["layout"]
    update_axes(layout, "x", **step_ticks(snap.total_steps))
    layout["yaxis"]["title"] = {"text": _("input to the {activation}").format(
        activation=cfg.activation)}
    return fig
