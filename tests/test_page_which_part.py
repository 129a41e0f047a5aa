"""The "Which part of BN does the work?" page: its defaults are the lesson's preset (four twins on
the Figure 1 net), switching to the deep sigmoid net resets the settings to that net's, view
settings never restart the run, and its charts and sentences carry the run's own numbers."""
import re

import numpy as np
from pagetest import (
    chart_titled,
    clean_registry,  # noqa: F401  (autouse fixture)
    decoded,
    no_exceptions,
    open_page,
    poll,
    run_key,
    widget,
)

from bn_core.lessons import which_part
from bn_core.lessons.which_part import EARLY_STEP

PAGE = "pages/10_Which_part_of_BN.py"
SHORT = {"steps": "300"}


def page_text(at) -> str:
    return " ".join(m.value for m in at.markdown)


def test_defaults_are_the_lessons_four_twins_on_the_figure1_net():
    at = open_page(PAGE)
    no_exceptions(at)
    key = run_key(at)
    preset = which_part.FIGURE1_PART
    assert key == {**preset.to_dict(), "pace": key["pace"]}
    assert key["nets"] == ["plain", "norm_only", "affine_only", "bn"]


def test_the_deep_net_brings_its_own_settings_and_views_do_not_restart():
    at = open_page(PAGE, {"lr": "0.2"})
    assert run_key(at)["lr"] == 0.2
    widget(at, "setup", "view").set_value("deep-sigmoid").run()
    no_exceptions(at)
    key = run_key(at)
    assert (key["depth"], key["width"], key["lr"]) == (10, 64, 0.5)  # reset to the deep net's
    assert widget(at, "layer", "view").value == 10
    before = run_key(at)
    widget(at, "layer", "view").set_value(4).run()
    widget(at, "pooled", "view").set_value(True).run()
    no_exceptions(at)
    assert run_key(at) == before

    def bands_drawn(a):
        try:
            return bool(chart_titled(a, "15/50/85th percentiles")["data"])
        except KeyError:
            return False
    poll(at, 240, until=bands_drawn)
    no_exceptions(at)
    assert run_key(at) == before
    assert "layer 4" in chart_titled(at, "15/50/85th percentiles")["layout"]["title"]["text"]


def test_charts_and_sentences_carry_the_runs_numbers():
    at = open_page(PAGE, SHORT)
    no_exceptions(at)
    poll(at, 240, until=lambda a: f"Held-out accuracy at step {EARLY_STEP}**" in page_text(a))
    no_exceptions(at)
    text = page_text(at)
    acc = chart_titled(at, "Held-out accuracy of the four nets")
    names = [t["name"] for t in acc["data"]]
    assert names == ["Plain", "Normalise only", "Scale and shift only", "BN"]
    m = re.search(r"Held-out accuracy at step 100\*\*: (.*?) \(chance", text)
    assert m, text[:600]
    quoted = {k.strip(): v for k, v in re.findall(r"([A-Za-z ]+?) (\d+)%", m.group(1))}
    for trace in acc["data"]:
        steps, values = decoded(trace["x"]), decoded(trace["y"])
        at_100 = values[np.searchsorted(steps, EARLY_STEP, side="right") - 1]
        assert abs(int(quoted[trace["name"].strip()]) - 100 * float(at_100)) <= 0.51
    bands = chart_titled(at, "15/50/85th percentiles")
    titles = [a["text"] for a in bands["layout"]["annotations"]]
    assert titles[:4] == ["Plain", "Normalise only", "Scale and shift only", "BN"]
    assert "Percentile band of layer 3's input (unit 0)" in text
    assert chart_titled(at, "Training loss")["data"]
