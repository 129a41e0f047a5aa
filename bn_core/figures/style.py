"""One colour per net everywhere (Okabe-Ito: colour-blind safe, readable on a projector),
shared layout defaults, and the sigmoid's zones."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from bn_core.config import NET_LABELS
from bn_core.nets.probes import LINEAR_ZONE, SATURATION_THRESHOLD

NET_COLORS = {
    "plain": "#E69F00",        # orange
    "bn": "#0072B2",           # blue
    "noisy_bn": "#009E73",     # bluish green
    "noisy_plain": "#D55E00",  # vermillion
    "norm_only": "#56B4E9",    # sky blue
    "affine_only": "#CC79A7",  # reddish purple
    "layernorm": "#000000",    # black
    "groupnorm": "#D5A600",    # a darker Okabe-Ito yellow (#F0E442 is unreadable on white)
}
NET_DASH = {"plain": "solid", "bn": "solid", "noisy_bn": "dash", "noisy_plain": "dot",
            "norm_only": "dash", "affine_only": "dot", "layernorm": "solid",
            "groupnorm": "dashdot"}
SATURATED_FILL = "rgba(213, 94, 0, 0.10)"
LINEAR_FILL = "rgba(0, 158, 115, 0.08)"
FONT_SIZE = 15
# Live charts: no zoom/pan (a data change would reset it); PNG download kept.
LIVE_CONFIG = {"displaylogo": False, "scrollZoom": False, "doubleClick": False,
               "modeBarButtonsToRemove": ["zoom2d", "pan2d", "select2d", "lasso2d",
                                          "zoomIn2d", "zoomOut2d", "autoScale2d",
                                          "resetScale2d"],
               "toImageButtonOptions": {"format": "png", "scale": 2}}


def net_label(name: str) -> str:
    return NET_LABELS.get(name, name)


def f32(a) -> np.ndarray:
    """Downcast for a small payload (sent as a base64 typed array)."""
    return np.asarray(a, dtype=np.float32)


def base_layout(fig: go.Figure, title: str, x_title: str, y_title: str,
                height: int = 360) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.0, "xanchor": "left"}, height=height,
        font={"size": FONT_SIZE}, margin={"l": 60, "r": 20, "t": 60, "b": 50},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 1.0,
                "xanchor": "right"},
        template="plotly_white", dragmode=False, hovermode="x unified",
        uirevision="constant")
    fig.update_xaxes(title_text=x_title, fixedrange=True)
    fig.update_yaxes(title_text=y_title, fixedrange=True)
    return fig


def shade_sigmoid_zones(fig: go.Figure, activation: str, axis: str = "y", row=None, col=None,
                        limit: float = 12.0) -> None:
    """Shade where the nonlinearity saturates (and its near-linear zone) along `axis`."""
    if activation not in SATURATION_THRESHOLD:
        return
    sat, lin = SATURATION_THRESHOLD[activation], LINEAR_ZONE[activation]
    add = fig.add_hrect if axis == "y" else fig.add_vrect
    kw = {"row": row, "col": col} if row is not None else {}
    for lo, hi in ((sat, limit), (-limit, -sat)):
        add(lo, hi, fillcolor=SATURATED_FILL, line_width=0, layer="below", **kw)
    add(-lin, lin, fillcolor=LINEAR_FILL, line_width=0, layer="below", **kw)
