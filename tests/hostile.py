"""Hostile text for the injection tests: Markdown, HTML, KaTeX and Streamlit shortcode payloads,
each short enough to be shown whole (URL notices quote at most 40 characters), and a reader of
Markdown code spans (CommonMark's rule) to check that user text only ever appears inside one."""
from __future__ import annotations

import re

HOST = "bnlab-payload.invalid"  # .invalid never resolves: a request to it shows in the browser
MARK = "PAYLOAD"

PAYLOADS = {
    "link": f"[{MARK}](http://{HOST})",
    "image": f"![{MARK}](http://{HOST})",
    "bold": f"**{MARK}** _em_",
    "html": f"<b>{MARK}</b><i>x</i>",
    "html_image": f"<img src=http://{HOST}/a>",
    "katex": f"${MARK}^2$ $$x$$",
    "backticks": f"`{MARK}` ``x`` `",
    "shortcodes": f":red[{MARK}] :material/home: :smile:",
    "newlines": f"x\n\n# {MARK}\n- item",
}
for _name, _text in PAYLOADS.items():
    assert len(_text) <= 40 and (MARK in _text or HOST in _text), _name


def as_shown(text: str) -> str:
    """What a one-line message shows of the payload: each run of line breaks becomes a space."""
    return re.sub(r"[\r\n]+", " ", text)


def split_code_spans(markdown: str) -> tuple[str, list[str]]:
    """(the text outside code spans, the contents of the code spans), by CommonMark's rule: a
    run of k backticks opens a span closed by the next run of exactly k backticks."""
    outside, spans, i = [], [], 0
    runs = [(m.start(), m.end()) for m in re.finditer(r"`+", markdown)]
    r = 0
    while r < len(runs):
        start, end = runs[r]
        if start > 0 and markdown[start - 1] == "\\":  # an escaped backtick opens nothing
            r += 1
            continue
        k = end - start
        close = next((j for j in range(r + 1, len(runs)) if runs[j][1] - runs[j][0] == k), None)
        if close is None:
            r += 1
            continue
        outside.append(markdown[i:start])
        content = markdown[end:runs[close][0]].replace("\n", " ")
        if len(content) > 1 and content[0] == content[-1] == " " and content.strip(" "):
            content = content[1:-1]
        spans.append(content)
        i = runs[close][1]
        r = close + 1
    outside.append(markdown[i:])
    return "".join(outside), spans


def unrendered(text: str) -> str:
    """A code span's content as the student reads it (zero-width characters removed)."""
    return text.replace("\u200b", "").replace("\u2060", "")
