"""Helpers for AppTest page tests: open a page with URL parameters, poll its live run, read
chart data. AppTest does not fire fragment timers, so `poll` re-runs the script."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent


def fresh_registry() -> None:
    """Stop and forget every run of the app's registry (call between tests); its worker
    processes stay up for the next test."""
    from bn_core import engine

    engine.get_registry().clear("test teardown")
    st.cache_resource.clear()


def open_page(page: str, query: dict | None = None, timeout: float = 60) -> AppTest:
    """Run `app.py` or `pages/NAME.py` once, with URL query parameters."""
    at = AppTest.from_file(str(ROOT / page), default_timeout=timeout)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    return at


def run_key(at: AppTest) -> dict:
    """The config of the run the page is showing (from the registry: the most recent run)."""
    import bnlab_ui.core as core

    runs = core.get_registry().runs()
    assert runs, "the page created no run"
    return max(runs, key=lambda r: r.last_seen).config.to_dict()


def poll(at: AppTest, seconds: float = 3.0, until=None) -> AppTest:
    """Let the background run train, re-running the page script every 0.5 s."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        time.sleep(0.5)
        at.run()
        if until is not None and until(at):
            break
    return at


def chart_specs(at: AppTest) -> list[dict]:
    """The Plotly JSON of every chart on the page in page order: live chart components and
    st.plotly_chart elements (a chart students click on)."""
    from bnlab_ui.charts import shown_figure

    out = []

    def walk(node):
        for child in getattr(node, "children", {}).values():
            if getattr(child, "type", "") in ("plotly_chart", "bidi_component"):
                figure = shown_figure(child)
                if figure is not None:
                    out.append(figure)
            walk(child)

    walk(at.main)
    walk(at.sidebar)
    return out


def trace_points(spec: dict) -> int:
    """How many data points the figure's traces carry (x arrays; typed arrays decoded)."""
    total = 0
    for trace in spec.get("data", []):
        for axis in ("x", "z", "y"):
            value = trace.get(axis)
            if value is None:
                continue
            if isinstance(value, dict) and "bdata" in value:
                shape = value.get("shape")
                import numpy as np
                n = int(np.prod([int(s) for s in str(shape).split(",")])) if shape else None
                if n is None:
                    import base64
                    dt = {"f4": 4, "f8": 8, "i4": 4, "u1": 1, "i8": 8, "i2": 2, "u2": 2, "u4": 4,
                          "i1": 1}.get(value.get("dtype", "f8"), 8)
                    n = len(base64.b64decode(value["bdata"])) // dt
                total += n
            elif isinstance(value, list):
                total += len(value)
            break
    return total


def no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


WIDGET_KINDS = ("slider", "select_slider", "selectbox", "toggle", "multiselect", "text_input",
                "number_input", "checkbox", "radio")


def widget(at: AppTest, name: str, prefix: str = "cfg"):
    """The widget of a run setting ("cfg") or view setting ("view") on the page.

    bnlab_ui keys widgets per page as "<page title>|cfg:<name>"."""
    suffix = f"|{prefix}:{name}"
    for kind in WIDGET_KINDS:
        for w in at.get(kind):
            if (getattr(w, "key", None) or "").endswith(suffix):
                return w
    raise KeyError(f"no {prefix} widget for {name!r}")


DTYPES = {"f4": "float32", "f8": "float64", "i1": "int8", "i2": "int16", "i4": "int32",
          "i8": "int64", "u1": "uint8", "u2": "uint16", "u4": "uint32"}


def decoded(value):
    """A plotly array from the chart JSON (a plain list or a base64 typed array) as numpy."""
    import base64

    import numpy as np

    if isinstance(value, dict) and "bdata" in value:
        arr = np.frombuffer(base64.b64decode(value["bdata"]), DTYPES[value["dtype"]])
        shape = value.get("shape")
        return arr.reshape([int(s) for s in str(shape).split(",")]) if shape else arr
    return np.asarray(value, dtype=float)


def chart_titled(at: AppTest, title_start: str) -> dict:
    """The chart whose title starts with `title_start`."""
    for spec in chart_specs(at):
        if spec["layout"].get("title", {}).get("text", "").startswith(title_start):
            return spec
    raise KeyError(title_start)


def finished(at: AppTest) -> bool:
    """Whether the page says its run has finished: the progress bar of a page not yet on the
    lesson frame, or the frame's control bar ("step 3,000 of 3,000 · finished")."""
    return any("finished" in (p.proto.text or "") for p in at.get("progress")) or \
        any(" of " in m.value and "· finished" in m.value for m in at.markdown)


@pytest.fixture(autouse=True)
def clean_registry():
    """Every page test leaves no run behind (import this fixture into a page test module)."""
    yield
    fresh_registry()
