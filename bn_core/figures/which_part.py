"""Charts of "Which part of BN does the work?": the four twins' held-out accuracy with the early
step marked, their training loss, and each net's percentile band of one layer's input (a 2x2
grid, so four panels stay readable in a lesson column). Plain figure dicts from a snapshot."""
from __future__ import annotations

from bn_core.figures.figure1 import accuracy_figure, band_limit, band_traces
from bn_core.figures.ics import training_loss_figure
from bn_core.figures.style import (GUIDE, NET_COLORS, base_layout, empty_note, figure, net_label,
                                   note, on, sigmoid_zone_shapes, step_ticks, subplot_grid,
                                   update_axes, vline)
from bn_core.i18n import N_, _
from bn_core.lessons.which_part import EARLY_STEP, PART_NETS

MARK_LINE = {"color": "#777777", "dash": "dot", "width": 1.5}


def _ordered(nets: dict) -> list[str]:
    """The run's nets in the lesson's order (plain, normalise only, scale and shift only, BN)."""
    return [n for n in PART_NETS if n in nets] + [n for n in nets if n not in PART_NETS]


def part_accuracy_chart(snap, height: int = 360) -> dict:
    """Held-out accuracy of every net against steps, the early step the lesson quotes marked."""
    nets = {n: snap.nets[n] for n in _ordered(snap.nets)}
    fig = accuracy_figure(nets, "heldout_acc", N_("Held-out accuracy of the four nets "
                                                  "(digits never trained on)"), height)
    layout = fig["layout"]
    if snap.total_steps >= EARLY_STEP:
        layout["shapes"] = [vline(EARLY_STEP, MARK_LINE)]
        layout["annotations"] = [note(_("step {step}").format(step=EARLY_STEP), EARLY_STEP, 0,
                                      "x", "y domain",
                                      xanchor="left", yanchor="bottom", font={"color": GUIDE})]
    layout["xaxis"].update(step_ticks(snap.total_steps))
    return fig


def part_loss_chart(snap, height: int = 340) -> dict:
    """Each net's training loss (training mode, mean since the probe before), log scale."""
    nets = {n: snap.nets[n] for n in _ordered(snap.nets)}
    fig = training_loss_figure(nets, snap.config.is_regression, height)
    fig["layout"]["xaxis"].update(step_ticks(snap.total_steps))
    return fig


def part_bands_chart(snap, layer: int, pooled: bool, height: int = 520) -> dict:
    """One panel per net (2 x 2): the percentile band of hidden layer `layer`'s input to the
    nonlinearity (one unit, or all units pooled), shared axes, saturated zones shaded."""
    cfg = snap.config
    names = [n for n in _ordered(snap.nets) if len(snap.nets[n].probes.get("step", ())) > 0]
    what = _("all units pooled") if pooled else _("unit {unit}").format(unit=cfg.probe_unit)
    q = "/".join(f"{p:g}" for p in cfg.percentiles)
    layout = base_layout(_("{percentiles}th percentiles of the {activation} input, layer "
                           "{layer}, {what}").format(percentiles=q, activation=cfg.activation,
                                                     layer=layer + 1, what=what),
                         height=height, hovermode="closest")
    if not names:
        layout["annotations"] = [empty_note(N_("No probe recorded yet"))]
        return figure([], layout)
    cols = 2 if len(names) > 1 else 1
    rows = -(-len(names) // cols)
    grid = subplot_grid(layout, rows, cols, h_spacing=0.08, v_spacing=0.2, shared_x=True,
                        shared_y=True, titles=[net_label(n) for n in names],
                        x_title=N_("training step"), y_title=N_("input"))
    cells = [c for row in grid for c in row]
    data, shapes = [], []
    for cell, name in zip(cells, names):
        data += [on(t, cell) for t in band_traces(snap.nets[name], layer, pooled,
                                                  NET_COLORS[name], net_label(name))]
        shapes += sigmoid_zone_shapes(cfg.activation, x_ref=cell["x"], y_ref=cell["y"])
    for t in data:
        t["showlegend"] = False  # each panel is titled with its net
    layout["shapes"] = shapes
    lim = band_limit(snap.nets, names, layer, pooled, cfg.activation)
    update_axes(layout, "y", range=[-lim, lim])
    update_axes(layout, "x", **step_ticks(snap.total_steps))
    return figure(data, layout)

