"""Lesson pages in Chinese (`?lang=zh`): each page runs without an exception, trains, and the
visible text of its main area and sidebar (markdown, captions, widgets' labels, help and options,
charts' titles, axes and legends) has no English sentence left (tests/i18n_check.py)."""
from __future__ import annotations

import re

from i18n_check import apptest_texts, english_left

from bn_core import i18n
from pagetest import (
    chart_specs,
    clean_registry,  # noqa: F401  (autouse fixture)
    no_exceptions,
    open_page,
    poll,
)


# Formula fragments, file paths and the share link's query string stay as they are in Chinese.
_NOT_WORDS = re.compile(r"\bfan_(?:in|out)\b|\bscale\^2|[\w/.-]+\.md\b|\?[\w=&.,%-]+")


def _texts(at) -> str:
    return "\n".join(apptest_texts(at))


def chinese_page_english(at) -> list[str]:
    """The English sentences left on a page shown in Chinese (formula fragments such as
    N(0, 2/(fan_in + fan_out)), paths and the share link's parameters are not English)."""
    return english_left([_NOT_WORDS.sub(" ", t) for t in apptest_texts(at)])


def _zh_lesson_page(page: str, query: dict, charts: int, shown: str, seconds: float = 120):
    """Open `page` in Chinese and let its run train until `charts` charts are drawn and the
    text `shown` (a sentence computed from the run, e.g. at its last step) is on the page. AppTest calls the
    selectboxes' format_func in the test's own thread when it re-runs the page: that thread
    speaks Chinese too, as the session's script thread does."""
    with i18n.language("zh"):
        at = open_page(page, {"lang": "zh", **query})
        no_exceptions(at)
        poll(at, seconds, until=lambda a: a.exception or (
            len(chart_specs(a)) >= charts and shown in _texts(a)))
        no_exceptions(at)
    return at


# ---------------------------------------------------------------------------- page 1

FIGURE1 = "pages/1_Figure_1_live.py"


def test_zh_page_1_figure1_has_no_english_left():
    at = _zh_lesson_page(FIGURE1, {"steps": "400", "pe": "50", "ee": "50"}, charts=2,
                         shown="第 400 步时为")
    assert [t.value for t in at.title] == ["图 1，实时重现"]
    joined = _texts(at)
    assert len(chart_specs(at)) >= 2 and "第 400 步时为" in joined    # trained to the end
    # a chart title (wrapped to the chart's width: a line break where a space or nothing was)
    title = "(a) MNIST：自带的 5,000 个数字子集 上的留出集准确率"
    assert title in joined.replace("<br>", "") or title in joined.replace("<br>", " ")
    assert "运行设置" in joined and "学习率" in joined   # the sidebar's heading and a setting
    assert "**留出集准确率（在本次运行上测得）**" in joined
    left = chinese_page_english(at)
    assert left == [], "\n".join(left)


# ---------------------------------------------------------------------------- page 3

ICS = "pages/3_Internal_covariate_shift.py"


def test_zh_page_3_internal_covariate_shift_has_no_english_left():
    at = _zh_lesson_page(ICS, {"steps": "300", "pe": "50", "ee": "50"}, charts=3,
                         shown="第 0 步 → 第 300 步")
    assert [t.value for t in at.title] == ["内部协变量偏移"]
    joined = _texts(at)
    assert "每一层非线性函数输入的均值和方差" in joined          # a chart title
    assert "**最大的漂移（实测）**" in joined                     # a sentence from the run
    assert "批归一化看到什么：它归一化的线性输出（批归一化在 relu 之前）" in joined
    left = chinese_page_english(at)
    assert left == [], "\n".join(left)


def test_zh_page_3_bn_after_the_relu_has_no_english_left():
    """The other placement's sentences and chart title (BN after the ReLU)."""
    at = _zh_lesson_page(ICS, {"steps": "300", "pe": "50", "ee": "50", "place": "after",
                               "layer": "2"}, charts=3, shown="第 0 步 → 第 300 步")
    joined = _texts(at)
    assert "批归一化看到什么：它归一化的 relu 输出（批归一化在 relu 之后）" in joined
    assert "ReLU 把每个负输入都置为 0" in joined
    left = chinese_page_english(at)
    assert left == [], "\n".join(left)


# ---------------------------------------------------------------------------- page 4

GAMMA_BETA = "pages/4_Gamma_and_beta.py"


def test_zh_page_4_gamma_beta_has_no_english_left():
    at = _zh_lesson_page(GAMMA_BETA, {"steps": "300", "pe": "50", "ee": "50"}, charts=5,
                         shown="（第 300 步）：")
    assert [t.value for t in at.title] == ["gamma 与 beta"]
    joined = _texts(at)
    assert "gamma 和 beta **冻结**为滑块的值：每个单元都是 gamma = 0.5，beta = 0。" in joined
    assert "两个网络的留出集准确率" in joined and "**留出集准确率**" in joined
    assert "冻结为设定值" in joined               # a choice of the sidebar's gamma/beta mode
    left = chinese_page_english(at)
    assert left == [], "\n".join(left)


def test_zh_page_4_undo_mode_with_relu_has_no_english_left():
    """The other branches: gamma and beta set to undo BN, a ReLU net (zero outputs, dead
    units)."""
    at = _zh_lesson_page(GAMMA_BETA, {"steps": "300", "pe": "50", "ee": "50", "affine": "undo",
                                      "act": "relu"}, charts=5, shown="（第 300 步）：")
    joined = _texts(at)
    assert "**设为抵消归一化**" in joined and "抵消模式" in joined
    assert "的输出为 0" in joined                  # the ReLU's zone sentence
    left = chinese_page_english(at)
    assert left == [], "\n".join(left)


# ---------------------------------------------------------------------------- questions

def test_zh_page_1_3_4_questions_and_measured_answers_are_chinese():
    """Every prediction question and choice is in the catalogue; an answer measured on a run
    is one Chinese sentence with the run's numbers (English unchanged)."""
    from types import SimpleNamespace

    import numpy as np

    from bn_core.i18n import _
    from bn_core.lessons import predictions

    def net(acc):
        return SimpleNamespace(evals={"step": np.array([0, 300]),
                                      "heldout_acc": np.array([0.1, acc])},
                               status="finished", label="Plain")

    snap = SimpleNamespace(nets={"plain": net(0.45), "bn": net(0.9)})
    assert predictions.ahead_early(snap) == (
        1, "at step 300: plain 45%, BN 90% held-out accuracy")
    with i18n.language("zh"):
        for q in predictions.QUESTIONS:
            assert english_left([_(q.text), *map(_, q.choices)]) == [], q.id
        assert predictions.ahead_early(snap) == (
            1, "第 300 步时的留出集准确率：无批归一化 45%，BN 90%")
