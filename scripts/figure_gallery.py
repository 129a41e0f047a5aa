"""Every BN Lab chart on one page, built from short real runs, to look at them side by side
(and in each theme): `streamlit run scripts/figure_gallery.py`.

URL options: `?group=gamma` (one page's charts), `?theme=dark`, `?old=86fb1cd` (that commit's
builders, drawn with st.plotly_chart as the pages did then), `?frac=0.6` (chart width as a share
of the page: the lessons draw most charts in a 3:2 column beside the sidebar, about 0.45). Set BNLAB_GALLERY_RUNS to a pickle
of `figure_pages.all_runs()` to skip training."""
import os
import pickle
import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent))
import figure_pages as fp  # noqa: E402

st.set_page_config(page_title="BN Lab figure gallery", layout="wide")


@st.cache_resource
def runs():
    path = os.environ.get("BNLAB_GALLERY_RUNS")
    if path and Path(path).exists():
        return pickle.loads(Path(path).read_bytes())
    return fp.all_runs()


query = st.query_params
old = query.get("old")
group = query.get("group")
theme = query.get("theme", "light")
frac = min(max(float(query.get("frac", 1.0)), 0.2), 1.0)
mods = fp.modules_from_git(old) if old else fp.current_modules()
data = runs()
for chart in fp.CHARTS:
    if group and chart.page != group:
        continue
    st.subheader(f"{chart.page}: {chart.name}")
    st.caption(fp.PAGE_OF[chart.page])
    fig = chart.build(mods, data)
    column = st.columns([frac, 1.001 - frac])[0] if frac < 1 else st.container()
    key = f"{chart.page}:{chart.name}"
    with column:
        if old:
            st.plotly_chart(fig, key=key, width="stretch", config=mods.style.LIVE_CONFIG)
        else:
            from bnlab_ui.charts import prepare, show_figure

            show_figure(prepare(fig, theme), key=key, config=mods.style.LIVE_CONFIG)
