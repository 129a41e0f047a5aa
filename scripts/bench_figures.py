"""Figures as data, measured: per page, the time to build all its charts with the old
plotly.graph_objects builders (from git) and with today's dict builders, the bytes each sends
per refresh, and what st.plotly_chart costs for a dict, a figure object and the prepared
figure of bnlab_ui.charts. Prints JSON (and a markdown table with --markdown).

    python scripts/bench_figures.py [--old 86fb1cd] [--repeats 7] [--runs runs.pkl] [--markdown]

Everything runs in one process with one torch thread; old and new builders are interleaved
(alternating which goes first) so that drift in machine load affects both alike. The runs are
real short runs of each page's default settings (scripts/figure_pages.py)."""
from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import sys
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import figure_pages as fp  # noqa: E402


def _ms(seconds: list[float]) -> dict:
    values = sorted(1000 * s for s in seconds)
    return {"min": round(values[0], 2), "median": round(statistics.median(values), 2),
            "max": round(values[-1], 2)}


def build_times(old, new, runs, repeats: int) -> dict:
    """Per page: seconds to build all its charts, old and new, interleaved."""
    import plotly.io

    from bnlab_ui.charts import prepare, spec_json

    pages = {}
    for chart in fp.CHARTS:
        pages.setdefault(chart.page, []).append(chart)
    out = {}
    for page, charts in pages.items():
        times = {"old": [], "new": [], "new_prepared": []}
        for rep in range(repeats):
            order = ("old", "new") if rep % 2 == 0 else ("new", "old")
            for variant in order:
                mods = old if variant == "old" else new
                start = time.perf_counter()
                figs = [c.build(mods, runs) for c in charts]
                built = time.perf_counter()
                if variant == "new":
                    for f in figs:
                        prepare(f)
                    times["new_prepared"].append(time.perf_counter() - start)
                times[variant].append(built - start)
        old_figs = [c.build(old, runs) for c in charts]
        new_figs = [c.build(new, runs) for c in charts]
        # the bytes st.plotly_chart sends: plotly.io.to_json of the figure's dict
        old_json = [plotly.io.to_json(f.to_dict(), validate=False) for f in old_figs]
        new_json = [spec_json(f) for f in new_figs]
        out[page] = {
            "page": fp.PAGE_OF[page], "charts": len(charts),
            "build_ms_old": _ms(times["old"]), "build_ms_new": _ms(times["new"]),
            "build_and_encode_ms_new": _ms(times["new_prepared"]),
            "speedup_median": round(statistics.median(times["old"])
                                    / statistics.median(times["new_prepared"]), 1),
            "bytes_old": sum(map(len, old_json)), "bytes_new": sum(map(len, new_json)),
            "deflated_bytes_old": sum(len(zlib.compress(j.encode(), 6)) for j in old_json),
            "deflated_bytes_new": sum(len(zlib.compress(j.encode(), 6)) for j in new_json),
            "template_bytes_old": sum(len(json.dumps(f.to_dict()["layout"].get("template", {})))
                                      for f in old_figs),
        }
    return out


def _marshal(old_figs, new_figs, repeats):
    """Run inside a Streamlit script (AppTest): time each way of handing the charts to
    st.plotly_chart, with a script run context as on a real page."""
    import json as json_
    import time as time_

    import plotly.graph_objects as go
    import streamlit as st
    from streamlit.elements.lib.layout_utils import LayoutConfig
    from streamlit.elements.lib.utils import compute_and_register_element_id
    from streamlit.proto.PlotlyChart_pb2 import PlotlyChart

    from bn_core.figures.style import LIVE_CONFIG
    from bnlab_ui.charts import module_url, prepare, show_figure, spec_json

    counter = iter(range(10 ** 9))
    config_json = json_.dumps(LIVE_CONFIG)
    prepared = [prepare(f) for f in new_figs]
    cached_json = [spec_json(p) for p in prepared]

    def show(fig):
        st.plotly_chart(fig, key=f"k{next(counter)}", width="stretch", config=LIVE_CONFIG)

    if module_url() is None:
        raise RuntimeError("the live chart component is off (static serving or BNLAB_CHARTS)")

    def live(fig):  # the live chart component (what the pages use)
        show_figure(fig, key=f"k{next(counter)}", config=LIVE_CONFIG)

    def direct(spec):  # the proto written by hand (Streamlit internals): a lower bound
        proto = PlotlyChart(spec=spec, config=config_json, theme="streamlit")
        proto.id = compute_and_register_element_id(
            "plotly_chart", user_key=f"k{next(counter)}", key_as_main_identity=False,
            dg=st._main, plotly_spec=spec, plotly_config=config_json, selection_mode=None,
            is_selection_activated=False, theme="streamlit", width="stretch", height="content",
            alt=None)
        st._main._enqueue("plotly_chart", proto,
                          layout_config=LayoutConfig(width="stretch", height=450))

    ways = {
        "old go.Figure (to_dict + to_json)": lambda: [show(f) for f in old_figs],
        "dict (Streamlit validates it)": lambda: [show(f) for f in new_figs],
        "go.Figure(dict, skip_invalid=True)": lambda: [show(go.Figure(f, skip_invalid=True))
                                                        for f in new_figs],
        "go.Figure(dict, _validate=False)": lambda: [show(go.Figure(f, _validate=False))
                                                      for f in new_figs],
        "prepare (encode once) + show": lambda: [show(prepare(f)) for f in new_figs],
        "show a cached PreparedFigure": lambda: [show(p) for p in prepared],
        "hand-written proto, cached JSON": lambda: [direct(s) for s in cached_json],
        "live chart component: prepare + show": lambda: [live(prepare(f)) for f in new_figs],
        "live chart component: a cached PreparedFigure": lambda: [live(p) for p in prepared],
    }
    results = {name: [] for name in ways}
    for rep in range(repeats):
        for name in (list(ways) if rep % 2 == 0 else list(reversed(ways))):
            start = time_.perf_counter()
            ways[name]()
            results[name].append(time_.perf_counter() - start)
    st.session_state["marshal"] = results


def marshal_times(old, new, runs, repeats: int) -> dict:
    """What st.plotly_chart costs for all charts of every page, per way of handing them over."""
    from streamlit.testing.v1 import AppTest

    old_figs = [c.build(old, runs) for c in fp.CHARTS]
    new_figs = [c.build(new, runs) for c in fp.CHARTS]
    at = AppTest.from_function(_marshal, args=(old_figs, new_figs, repeats),
                               default_timeout=600).run()
    if at.exception:
        raise RuntimeError(at.exception[0].value)
    results = at.session_state["marshal"]
    n = len(fp.CHARTS)
    return {"charts": n, **{name: {**_ms(times), "per_chart_ms": round(
        1000 * statistics.median(times) / n, 3)} for name, times in results.items()}}


def markdown(result: dict) -> str:
    rows = ["| page | charts | build, old (ms) | build + encode, new (ms) | speed-up | "
            "bytes per refresh, old | new | deflated, old | new |",
            "|---|---|---|---|---|---|---|---|---|"]
    for page in result["build"].values():
        o, n = page["build_ms_old"], page["build_and_encode_ms_new"]
        rows.append(f"| {page['page']} | {page['charts']} | {o['median']} ({o['min']}-{o['max']})"
                    f" | {n['median']} ({n['min']}-{n['max']}) | {page['speedup_median']}x | "
                    f"{page['bytes_old']:,} | {page['bytes_new']:,} | "
                    f"{page['deflated_bytes_old']:,} | {page['deflated_bytes_new']:,} |")
    rows += ["", f"| handing over all {result['marshal']['charts']} charts | median ms "
                 "(min-max) | per chart |", "|---|---|---|"]
    for name, m in result["marshal"].items():
        if name != "charts":
            rows.append(f"| {name} | {m['median']} ({m['min']}-{m['max']}) | "
                        f"{m['per_chart_ms']} |")
    return "\n".join(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", default="86fb1cd", help="the commit whose builders are 'old'")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--runs", default="", help="a pickle of figure_pages.all_runs() to reuse")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    if args.runs and Path(args.runs).exists():
        runs = pickle.loads(Path(args.runs).read_bytes())
    else:
        runs = fp.all_runs()
        if args.runs:
            Path(args.runs).write_bytes(pickle.dumps(runs))
    old, new = fp.modules_from_git(args.old), fp.current_modules()
    for c in fp.CHARTS:  # warm both (imports, plotly's validators) before timing
        c.build(old, runs).to_dict()
        c.build(new, runs)
    result = {"old": args.old, "repeats": args.repeats, "load_before": os.getloadavg(),
              "build": build_times(old, new, runs, args.repeats),
              "marshal": marshal_times(old, new, runs, args.repeats),
              "load_after": os.getloadavg()}
    print(json.dumps(result, indent=1))
    if args.markdown:
        print(markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
