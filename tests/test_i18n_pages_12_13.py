"""Pages 12 (a live convolutional net) and 13 (your own data) in Chinese (`?lang=zh`): each runs
without an exception, trains to its end, and the visible text of its main area and sidebar has no
English sentence left; an upload refused and a URL value clamped are told in Chinese; the
teacher's question list is in Chinese. English stays as it was (the pages' own tests)."""
from __future__ import annotations

import re

import pytest
from i18n_check import apptest_texts, english_left
from pagetest import (  # noqa: F401  (clean_registry: autouse fixture)
    chart_specs,
    clean_registry,
    no_exceptions,
    open_page,
    poll,
)

import bnlab_ui.core as core
from bn_core import i18n
from bn_core.config import SETTINGS, setting_for

CNN = "pages/12_Convolutional_BN.py"
OWN_DATA = "pages/13_Your_own_data.py"
# Formula fragments (N(0, 1/fan_in)) and the share link's query string are not English prose.
_NOT_WORDS = re.compile(r"\bfan_(?:in|out)\b|\?[\w=&.,%:-]+")


@pytest.fixture(autouse=True)
def zh_in_the_test_thread():
    """AppTest calls a widget's format_func in the test's own thread when it re-runs a page:
    Chinese there too, as in the session's script thread."""
    with i18n.language("zh"):
        yield


def texts(at) -> str:
    return "\n".join(apptest_texts(at))


def english(at) -> list[str]:
    return english_left([_NOT_WORDS.sub(" ", t) for t in apptest_texts(at)])


def the_run():
    return max(core.get_registry().runs(), key=lambda r: r.last_seen)


def finished(at) -> bool:
    return bool(core.get_registry().runs()) and the_run().snapshot().status == "finished"


def chinese_run(page: str, query: dict, seconds: float = 300):
    """Open `page` in Chinese and let its run train to its end (then one more page run, so the
    page shows the finished run's sentences)."""
    at = open_page(page, {"lang": "zh", **query})
    no_exceptions(at)
    poll(at, seconds, until=lambda a: a.exception or finished(a))
    at.run()
    no_exceptions(at)
    assert finished(at), "the run did not finish in time"
    return at


# ---------------------------------------------------------------------------- page 12

def test_zh_page_12_convolutional_bn_has_no_english_left():
    at = chinese_run(CNN, {"steps": "200", "pe": "50"})
    assert [t.value for t in at.title] == ["实时训练的卷积网络"]
    joined = texts(at)
    snap = the_run().snapshot()
    assert snap.config.steps == 200 and len(chart_specs(at)) >= 3
    # sentences computed from the run, each one Chinese message with the run's numbers
    assert "卷积层 1 的每个 BN 统计量都取自每个通道的 N x H x W = 25,088 个值" in joined
    assert "第 200 步时的留出集准确率：BN " in joined
    assert "通道 0 的非线性函数的输入" in joined
    # chart titles, subplot titles, the table's headers, the sidebar's own labels
    assert "两个卷积网络的留出集准确率" in joined
    assert "卷积层 1 的每个通道：sigmoid 的输入在 N、H、W 上的统计" in joined
    assert "卷积层 1 对一个留出数字的特征图" in joined
    assert "批次均值" in joined and "滑动方差" in joined
    assert "每个卷积层的通道数" in joined and "sigmoid，N(0, 1/fan_in)，lr 0.5" in joined
    left = english(at)
    assert left == [], "\n".join(left)


def test_zh_page_12_relu_setup_has_no_english_left():
    at = chinese_run(CNN, {"setup": "relu", "steps": "150", "pe": "50"})
    joined = texts(at)
    assert "ReLU，He 初始化，学习率 0.1" in joined
    assert "在 relu 之后对一个留出数字的响应" in joined
    left = english(at)
    assert left == [], "\n".join(left)


# ---------------------------------------------------------------------------- page 13

def test_zh_page_13_your_own_data_has_no_english_left():
    at = chinese_run(OWN_DATA, {"steps": "300"})
    joined = texts(at)
    assert [t.value for t in at.title] == ["你自己的数据"]
    assert "第 300 步时的决策区域" in joined                      # chart title
    assert "两个网络的留出集准确率（从未训练过的点）" in joined
    assert "150 个点，3 个类别（apple 50，banana 50，cherry 50）" in joined
    assert re.search(r"- \*\*无批归一化\*\*：第 300 步时分对 \d+% 的训练点", joined), joined
    # the data tabs: upload, canvas (nothing drawn yet), this data set
    assert "上传 CSV" in joined and "点击添加点" in joined and "当前数据集" in joined
    assert "已画 0 个点；至少需要 20 个、至少分属两个类别才能训练。" in joined
    assert "点击添加一个所选类别的点" in joined                     # the canvas's title
    box = next(u for u in at.get("file_uploader") if u.key == "custom:upload")
    assert box.proto.label == "一个 CSV 文件：表头为 x1,x2,label，每行一个点"
    assert box.proto.help == "最多 200 KB、2,000 个点，2-10 个类别。"
    left = english(at)
    assert left == [], "\n".join(left)


@pytest.mark.parametrize("raw, told", [
    (b"x1,x2,label\n0,0,a\n1,1,a\n", "只有 2 个点：至少需要 20 个"),
    (b"x1,x2,label\n" + b"".join(b"%d,%d,a\n" % (i, i) for i in range(30)),
     "所有点的标签都是 `a`：分类器至少需要 2 个类别。"),
    (b"\x00\x01binary", "这不是 CSV 文本文件（它包含二进制数据）"),
], ids=["too few", "one class", "binary"])
def test_zh_page_13_a_refused_upload_is_told_in_chinese(raw, told):
    at = open_page(OWN_DATA, {"lang": "zh"})
    no_exceptions(at)
    box = next(u for u in at.get("file_uploader") if u.key == "custom:upload")
    box.set_value(("points.csv", raw, "text/csv"))
    at.run()
    no_exceptions(at)
    errors = [e.value for e in at.error]
    assert any(told in e for e in errors), errors
    assert english_left(errors) == [], errors


# ---------------------------------------------------------------------------- shared leftovers

def test_zh_a_clamped_url_value_is_told_in_chinese():
    at = open_page(CNN, {"lang": "zh", "lr": "999", "batch": "1", "steps": "abc"})
    no_exceptions(at)
    warnings = [w.value for w in at.warning]
    assert "`lr=999` 超出允许范围（介于 0.0001 与 10 之间）；使用 10。" in warnings, warnings
    assert any(w.startswith("`batch=1` 超出允许范围（介于 2 与 2000 之间；训练模式下的 BN")
               for w in warnings), warnings
    assert "`steps=abc` 无效（允许：介于 1 与 200000 之间）；使用默认值 1500。" in warnings, \
        warnings
    assert english_left(warnings) == [], warnings


def test_settings_notices_english_unchanged_and_chinese_whole():
    pct = SETTINGS["percentiles"]
    batch = setting_for("batch_size", ("plain", "bn"))
    cases = [(SETTINGS["lr"], "999"), (SETTINGS["lr"], "abc"), (pct, "90,10,10,200"),
             (batch, "1"), (SETTINGS["dataset"], "nope"), (SETTINGS["binarize"], "maybe")]
    with i18n.language("en"):
        english_notices = [spec.coerce(raw)[1] for spec, raw in cases]
    assert english_notices == [
        "`lr=999` is outside the allowed range (between 0.0001 and 10); using 10.",
        "`lr=abc` is not valid (between 0.0001 and 10); using the default 0.5.",
        "`pct`: values outside 0-100 clamped, sorted, duplicates removed; using 10,90,100.",
        "`batch=1` is outside the allowed range (between 2 and 2000; BN in training mode needs "
        "at least 2 examples per batch: the variance of a single value is 0, so BN would output "
        "beta whatever the input); using 2.",
        "`data=nope` is not valid (one of moons, circles, blobs, xor, spiral, mnist-subset, "
        "mnist, fashion-mnist, deep-linear); using the default moons.",
        "`bin=maybe` is not valid (true or false); using the default 0.",
    ]
    notices = [spec.coerce(raw)[1] for spec, raw in cases]   # in Chinese (the fixture)
    assert notices[2] == "`pct`：超出 0-100 的值已截断，已排序，已去除重复值；使用 10,90,100。"
    assert notices[4].startswith("`data=nope` 无效（允许：`moons, circles")
    assert notices[5] == "`bin=maybe` 无效（允许：true 或 false）；使用默认值 0。"
    for n in notices:
        assert english_left([n]) == [] and "{" not in n, n


def test_zh_teachers_question_list_is_chinese(monkeypatch):
    """The teacher's "Ask the class" list shows the questions in the session's language."""
    from bn_core.i18n import _
    from bn_core.lessons import predictions
    from bnlab_ui import classroom, roles

    monkeypatch.setenv("BNLAB_TEACHER_KEY", "test-key")
    page = "pages/4_Gamma_and_beta.py"
    try:
        at = open_page(page, {"lang": "zh", "steps": "50"})
        at.session_state[roles.ROLE_KEY] = "teacher"
        at.run()
        no_exceptions(at)
    finally:  # the teacher led the class: end it, so that later tests' pages are their own
        classroom.room().end_class()
        classroom._room = None
    ask = next(s for s in at.selectbox if s.key == "class:question")
    wanted = [_(q.text) for q in predictions.for_page(page)]
    assert ask.label == "向全班提问"
    assert list(ask.options) == wanted and wanted
    assert english_left(list(ask.options)) == [], ask.options
