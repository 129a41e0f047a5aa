"""Helpers for the figure tests: validate a built figure once with plotly, read what the page
would send (the wire JSON of bnlab_ui.charts), decode typed arrays, find traces."""
from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import plotly.io

from bnlab_ui.charts import spec_json
from pagetest import decoded  # noqa: F401 (re-exported: typed arrays as numpy)


def checked(fig: dict) -> dict:
    """The wire JSON of a figure dict, after checking it: plotly validates it (once), it
    carries no template, and the JSON sent equals plotly's own JSON of the validated figure
    (less the default template plotly adds)."""
    assert isinstance(fig, dict) and set(fig) >= {"data", "layout"}, type(fig)
    validated = go.Figure(fig)  # raises on any invalid property
    wire = json.loads(spec_json(fig))
    assert "template" not in wire["layout"]
    reference = json.loads(plotly.io.to_json(validated))
    reference["layout"].pop("template", None)
    assert wire == reference
    return wire


def traces(spec: dict, **match) -> list[dict]:
    """The traces whose properties equal `match` (e.g. type="heatmap", name="BN")."""
    return [t for t in spec["data"] if all(t.get(k) == v for k, v in match.items())]


def trace(spec: dict, **match) -> dict:
    found = traces(spec, **match)
    assert len(found) == 1, (match, [t.get("name") for t in spec["data"]])
    return found[0]


def values(t: dict, axis: str = "y") -> np.ndarray:
    """A trace's array as numpy (typed arrays decoded, shape kept)."""
    v = t[axis]
    if isinstance(v, dict):
        return decoded(v)
    return np.asarray(v)


def title(spec: dict) -> str:
    return spec["layout"].get("title", {}).get("text", "")


def annotations(spec: dict) -> list[str]:
    return [a.get("text", "") for a in spec["layout"].get("annotations", [])]


def shapes(spec: dict) -> list[dict]:
    return spec["layout"].get("shapes", [])


def axes(spec: dict, letter: str) -> dict:
    """{"xaxis": {...}, "xaxis2": {...}} of a figure's layout."""
    return {k: v for k, v in spec["layout"].items()
            if k.startswith(f"{letter}axis") and k[5:].isdigit() or k == f"{letter}axis"}
