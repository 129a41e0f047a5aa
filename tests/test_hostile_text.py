"""User text is shown as text, never rendered: every message that can carry text from the URL, a
widget or an exception, on every page, with hostile Markdown, HTML, KaTeX and shortcode
payloads. The message's Markdown body must hold the user's text only inside a code span (where
nothing renders), exactly as typed. The real browser's view of the same is tests/test_browser_hostile.py."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from hostile import HOST, MARK, PAYLOADS, as_shown, split_code_spans, unrendered
from pagetest import clean_registry, no_exceptions, open_page, widget  # noqa: F401 (fixture)

MESSAGE_KINDS = ("markdown", "caption", "warning", "error", "info", "success", "toast", "title",
                 "header", "subheader")

# Page, extra URL parameters, and the URL keys (of settings the page shows) given the payload.
PAGES = [
    ("pages/1_Figure_1_live.py", {}, ["lr", "lrx", "act", "bin", "pct", "steps", "unit", "batch",
                                      "init", "data", "layer", "pooled"]),
    ("pages/2_Covariate_shift.py", {}, ["part", "sx", "rot", "data", "n", "noise"]),
    ("pages/2_Covariate_shift.py", {"part": "whitening"}, ["far", "white", "target"]),
    ("pages/3_Internal_covariate_shift.py", {}, ["place", "depth", "act", "layer"]),
    ("pages/4_Gamma_and_beta.py", {}, ["affine", "gamma", "beta", "depth", "layer"]),
    ("pages/5_Shuffling.py", {}, ["shuffle", "batch", "lr"]),
    ("pages/6_Gradients_and_learning_rates.py", {}, ["lrx", "depth", "width", "init", "seed"]),
    # a stepped lesson: each section draws (and checks) only its own settings
    ("pages/7_Inside_the_BN_layer.py", {}, ["n", "d", "f", "eps"]),
    ("pages/7_Inside_the_BN_layer.py", {"section": "running"}, ["pm", "mom", "T", "eps"]),
    ("pages/7_Inside_the_BN_layer.py", {"section": "conv"}, ["ch", "eps"]),
    ("pages/8_Does_BN_reduce_ICS.py", {}, ["setup", "noisy", "noisyplain", "metric", "ics", "lr"]),
]


def bodies(at: AppTest) -> list[str]:
    """The Markdown source of every message element on the page."""
    out = []
    for kind in MESSAGE_KINDS:
        for element in at.get(kind):
            body = getattr(element, "value", None)
            if isinstance(body, str):
                out.append(body)
    return out


def assert_shown_as_text(at: AppTest, expected: list[str]) -> None:
    """No payload outside a code span anywhere; each expected text whole inside one."""
    no_exceptions(at)
    spans = []
    for body in bodies(at):
        outside, inside = split_code_spans(body)
        assert MARK not in outside and HOST not in outside, f"rendered user text in: {body!r}"
        spans += [unrendered(s) for s in inside]
    for text in expected:
        assert any(text in s for s in spans), f"{text!r} is not shown as typed; spans: {spans}"


@pytest.mark.parametrize("payload", list(PAYLOADS), ids=list(PAYLOADS))
@pytest.mark.parametrize("page,extra,keys", PAGES,
                         ids=[f"{p.split('/')[-1][:-3]}{'-' + '-'.join(e.values()) if e else ''}"
                              for p, e, _ in PAGES])
def test_url_values_are_shown_as_text_in_every_notice(page, extra, keys, payload):
    text = PAYLOADS[payload]
    at = open_page(page, {**{k: text for k in keys}, **extra})
    assert_shown_as_text(at, [f"{k}={as_shown(text)}" for k in keys])


@pytest.mark.parametrize("payload", list(PAYLOADS), ids=list(PAYLOADS))
def test_typed_percentiles_are_shown_as_text(payload):
    at = open_page("pages/1_Figure_1_live.py")
    widget(at, "percentiles").set_value(PAYLOADS[payload]).run()
    assert_shown_as_text(at, [f"pct={as_shown(PAYLOADS[payload])}"])


def _guarded_failure(text):
    import bnlab_ui as ui

    with ui.guard("a test page"):
        raise ValueError(text)


def _failed_run(text):
    from bn_core.config import RunConfig
    from bn_core.engine.training import RunSnapshot
    import bnlab_ui as ui

    config = RunConfig()
    ui.status_line(RunSnapshot(
        key=config.key(), config=config, status="failed", message=text, step=3, total_steps=10,
        steps_per_sec=0.0, elapsed=0.0, nets={}, edges=None, bn_edges=None, viewport=None,
        data=None, viewers=1))


def _refused_run(text):
    import bnlab_ui.runs as runs
    from bn_core.config import RunConfig

    original = runs.check_config

    def refuse(config):
        raise ValueError(text)

    runs.check_config = refuse
    try:
        runs.run_controls(RunConfig())
    finally:
        runs.check_config = original


@pytest.mark.parametrize("payload", list(PAYLOADS), ids=list(PAYLOADS))
@pytest.mark.parametrize("script", [_guarded_failure, _failed_run, _refused_run],
                         ids=["error-boundary", "failed-run", "refused-run"])
def test_exception_messages_are_shown_as_text(script, payload):
    at = AppTest.from_function(script, args=(PAYLOADS[payload],), default_timeout=30)
    at.run()
    assert_shown_as_text(at, [as_shown(PAYLOADS[payload])])
