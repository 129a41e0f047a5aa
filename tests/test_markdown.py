"""Tests for bn_core/markdown.py: any text becomes one code span that shows it as typed."""
from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bn_core.markdown import URL_VALUE_SHOWN, literal, url_value
from hostile import PAYLOADS, split_code_spans, unrendered


def one_line(text: str) -> str:
    return re.sub(r"[\r\n\v\f\x85\u2028\u2029]+", " ", text)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from("`ab $*_[]()!<>:\\/\n") | st.characters(), max_size=40))
def test_any_text_is_one_code_span_holding_exactly_that_text(text):
    outside, spans = split_code_spans(literal(text))
    assert outside == ""
    assert len(spans) == 1
    if text.strip():
        assert unrendered(spans[0]) == one_line(text)


def test_the_payloads_are_quoted_whole():
    for text in PAYLOADS.values():
        outside, spans = split_code_spans(f"Bad value {literal(text)} here.")
        assert outside == "Bad value  here."
        assert [unrendered(s) for s in spans] == [one_line(text)]


def test_backticks_get_a_longer_fence_and_padding():
    assert literal("a") == "`a`"
    assert literal("`a`") == "`` `a` ``"
    assert literal("x ``y`` z") == "```x ``y`` z```"
    assert literal(" a ") == "`  a  `"  # CommonMark strips the padding only
    assert literal("") == "` `"


def test_streamlit_s_icon_rewrite_cannot_reach_the_text():
    quoted = literal(":material/home:")
    assert ":material/" not in quoted  # Streamlit replaces this even inside code spans
    assert unrendered(split_code_spans(quoted)[1][0]) == ":material/home:"


def test_a_long_url_value_is_cut_with_the_ellipsis_outside_the_code():
    text = "x" * 100
    quoted = url_value("lr", text)
    assert quoted == literal("lr=" + "x" * (URL_VALUE_SHOWN - 3)) + "..."
    assert url_value("lr", "x" * URL_VALUE_SHOWN) == literal("lr=" + "x" * URL_VALUE_SHOWN)
