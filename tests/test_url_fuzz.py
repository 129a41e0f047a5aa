"""Property-based: junk, out-of-range, wrong-type and very long URL parameters on every page.
The page renders with no exception, the value is clamped or reset, and a notice says so."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bn_core.config import SETTINGS
from pagetest import fresh_registry, no_exceptions, open_page

PAGES = ["app.py", "pages/1_Figure_1_live.py", "pages/2_Covariate_shift.py",
         "pages/3_Internal_covariate_shift.py", "pages/4_Gamma_and_beta.py",
         "pages/5_Shuffling.py", "pages/6_Gradients_and_learning_rates.py",
         "pages/7_Inside_the_BN_layer.py", "pages/8_Does_BN_reduce_ICS.py",
         "pages/10_Which_part_of_BN.py", "pages/11_Small_batches.py",
         "pages/12_Convolutional_BN.py", "pages/13_Your_own_data.py",
         "pages/99_Server_status.py"]
URL_KEYS = sorted({s.url for s in SETTINGS.values()} |
                  {"layer", "pooled", "part", "setup", "view", "target", "n", "d", "m", "channel",
                   "sizes", "detail", "data"})

junk = st.one_of(
    st.text(max_size=30),
    st.text(min_size=1000, max_size=3000),
    st.sampled_from(["nan", "inf", "-inf", "1e999", "-1", "0", "999999999", "<b>x</b>",
                     "<script>alert(1)</script>", "true", "", " ", "1,2,3", "0.5.5", "☃"]),
    st.integers(-10**12, 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
queries = st.dictionaries(st.sampled_from(URL_KEYS), junk, min_size=1, max_size=4)


def _check(page: str, query: dict) -> None:
    try:
        at = open_page(page, query)
        no_exceptions(at)
        html = " ".join(str(m.value) for m in at.markdown)
        assert "<script>" not in html.replace("&lt;script&gt;", "")  # user text never as HTML
    finally:
        fresh_registry()


def _property(page):
    @settings(max_examples=6, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(query=queries)
    def test(query):
        _check(page, query)
    return test


for _page in PAGES:
    _name = "test_junk_url_" + _page.split("/")[-1].removesuffix(".py").lower()
    globals()[_name] = _property(_page)


def test_a_bad_value_for_a_used_setting_gets_a_notice():
    try:
        at = open_page("pages/1_Figure_1_live.py", {"lr": "banana", "steps": "-50"})
        no_exceptions(at)
        notices = " ".join(w.value for w in at.warning)
        assert "lr=banana" in notices and "not valid" in notices
        assert "steps=-50" in notices and "outside the allowed range" in notices
    finally:
        fresh_registry()
