"""User text inside the Markdown of a message, shown exactly as typed and never rendered.

Pages show messages as Markdown (Streamlit renders links, images, emphasis, KaTeX `$...$`,
`:material/...:` icons, `:red[...]` colours, emoji shortcodes and bare URLs). Anything a student
typed, or put in the URL, or that an exception repeats, goes through `literal`: it becomes one
Markdown code span, whose content CommonMark shows as is. Pure string work, so the engine can
quote user text in the notices it writes (bn_core never imports streamlit).
"""
from __future__ import annotations

import re

URL_VALUE_SHOWN = 40  # characters of a URL value quoted in a notice

_LINE_BREAKS = re.compile(r"[\r\n\v\f\x85\u2028\u2029]+")
_BACKTICK_RUNS = re.compile(r"`+")


def literal(text) -> str:
    """`text` as a Markdown code span: shown as typed (line breaks become spaces).

    The fence is one backtick longer than the longest run inside, padded with a space when the
    text starts or ends with a backtick (CommonMark strips one space on each side). Streamlit
    rewrites ':material/' in the raw source, even inside code, so a zero-width space follows
    that colon."""
    text = _LINE_BREAKS.sub(" ", str(text)).replace(":material/", ":\u200bmaterial/")
    if not text:
        return "` `"
    fence = "`" * (max((len(run) for run in _BACKTICK_RUNS.findall(text)), default=0) + 1)
    pad = " " if text[0] == "`" or text[-1] == "`" or (
        text[0] == text[-1] == " " and text.strip(" ")) else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def url_value(key: str, raw) -> str:
    """`key=raw` from a URL, as a code span, cut to URL_VALUE_SHOWN characters of the value."""
    text = str(raw)
    if len(text) <= URL_VALUE_SHOWN:
        return literal(f"{key}={text}")
    return literal(f"{key}={text[:URL_VALUE_SHOWN - 3]}") + "..."
