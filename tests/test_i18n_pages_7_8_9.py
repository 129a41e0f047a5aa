"""Every page in Chinese (AppTest, ?lang=zh): it runs without an exception and the visible text
of the main area and the sidebar has no English sentence left (tests/i18n_check.py). Each
page's part is its own test functions (several helpers add pages here)."""
from __future__ import annotations

import re

import pytest
from i18n_check import apptest_texts, english_left, settings_texts
from pagetest import fresh_registry, no_exceptions, open_page, poll



@pytest.fixture(autouse=True)
def registry():
    yield
    fresh_registry()


def latest_status() -> str:
    import bnlab_ui.core as core

    runs = core.get_registry().runs()
    return max(runs, key=lambda r: r.last_seen).snapshot().status if runs else ""


def english(texts) -> list[str]:
    """English sentences left, leaving out the settings table's texts (bn_core/config.py,
    not marked for translation yet: see i18n_check.settings_texts)."""
    return english_left(texts, skip=settings_texts())


# ---------------------------------------------------------------------------- page 7

PAGE_7 = "pages/7_Inside_the_BN_layer.py"


def test_zh_page_7_every_section_in_chinese(zh):
    at = open_page(PAGE_7, {"lang": "zh"})
    no_exceptions(at)
    assert at.title[0].value == "批归一化层内部"
    count = len(at.main.get("button_group")[0].proto.options) if at.main.get("button_group") \
        else None
    assert count and count >= 5, "the stepped lesson bar is missing"
    for section in range(1, count + 1):
        at = open_page(PAGE_7, {"lang": "zh", "section": str(section)})
        no_exceptions(at)
        texts = apptest_texts(at)
        assert english(texts) == [], (section, english(texts))
        assert any("批归一化" in t for t in texts), section


CJK = re.compile(r"[\u4e00-\u9fff]")


def test_zh_page_7_section_titles_and_projector_lines_in_chinese(zh):
    """Every section's name in the step bar and its line in the projector view (?present=1)
    are Chinese: "Train vs eval" or "Convolutions" are English to a student even though the
    checker lets their words (train, eval) or a one-word run pass."""
    count = len(open_page(PAGE_7, {"lang": "zh"}).main.get("button_group")[0].proto.options)
    for section in range(1, count + 1):
        at = open_page(PAGE_7, {"lang": "zh", "section": str(section), "present": "1"})
        no_exceptions(at)
        named = [o.content for o in at.main.get("button_group")[0].proto.options
                 if not o.content.isdigit()]
        assert len(named) == 1 and named[0].startswith(f"{section}. ") \
            and CJK.search(named[0]), (section, named)
        says = [h.proto.body for h in at.get("html") if 'class="bnlab-say"' in h.proto.body]
        assert len(says) == 1 and CJK.search(says[0]) and english(says) == [], (section, says)
        if section == 3:  # the backward rules: formulas, and the few words among them
            cells = set(apptest_texts(at))
            assert {"输入", "参数", "dL/dy_i = 上游梯度 dy_i"} <= cells, cells


def test_zh_page_7_english_is_unchanged():
    at = open_page(PAGE_7)
    no_exceptions(at)
    assert at.title[0].value == "Inside the BN layer"
    assert at.main.get("button_group")[0].proto.options


# ---------------------------------------------------------------------------- page 8

PAGE_8 = "pages/8_Does_BN_reduce_ICS.py"
FAST_8 = {"steps": "150", "ics": "50"}  # MNIST: 3 ICS measurements, a few seconds


def test_zh_page_8_run_and_conclusions_in_chinese(zh):
    at = open_page(PAGE_8, {**FAST_8, "lang": "zh"})
    no_exceptions(at)
    assert at.title[0].value == "批归一化真的减少了内部协变量偏移吗？"
    at = poll(at, 240, until=lambda a: latest_status() == "finished")
    at.run()  # draw the finished run
    no_exceptions(at)
    assert latest_status() == "finished"
    texts = apptest_texts(at)
    assert english(texts) == [], english(texts)
    text = "\n".join(texts)
    # the conclusions were written (from the run) and in Chinese
    conclusions = [m.value for m in at.markdown if m.value.startswith("- ")]
    assert conclusions and "内部协变量偏移" in conclusions[0], conclusions
    assert "训练过程中的内部协变量偏移" in text
    assert "你应该得出什么结论？" in text
    # chart titles, axes and legends
    assert "训练步数" in text or "训练过程中的" in text
    assert "无批归一化" in text


def test_zh_page_8_deep_linear_setup_caption_in_chinese(zh):
    at = open_page(PAGE_8, {"setup": "deep-linear", "steps": "4", "ics": "2", "lang": "zh"})
    no_exceptions(at)
    captions = [c.value for c in at.sidebar.caption]
    assert any("个宽度为" in c and "线性层" in c for c in captions), captions
    assert english(apptest_texts(at)) == [], english(apptest_texts(at))


# ---------------------------------------------------------------------------- page 9

PAGE_9 = "pages/99_Server_status.py"


def test_zh_page_9_status_tables_in_chinese(zh):
    # a run on another page first, so the status page has rows to show
    lesson = open_page(PAGE_8, {**FAST_8, "lang": "zh"})
    no_exceptions(lesson)
    at = open_page(PAGE_9, {"lang": "zh"})
    no_exceptions(at)
    assert at.title[0].value == "服务器状态"
    labels = [m.label for m in at.metric]
    assert labels[:3] == ["保留的运行", "正在训练", "排队中"], labels
    tables = at.table
    assert tables, "no run table"
    columns = [str(c) for t in tables for c in t.value.columns]
    assert "状态" in columns and "status" not in columns, columns
    texts = apptest_texts(at)
    assert english(texts) == [], english(texts)
    assert "停止所有运行" in "\n".join(texts) or "教师" in "\n".join(texts)


def test_zh_page_9_english_is_unchanged():
    at = open_page(PAGE_9)
    no_exceptions(at)
    assert [m.label for m in at.metric][:3] == ["Runs kept", "Training now", "Queued"]
    assert at.metric[0].value.endswith(f" of {at.metric[0].value.split(' of ')[1]}")
