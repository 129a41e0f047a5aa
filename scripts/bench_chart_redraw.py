"""What redrawing a live chart costs the browser: Plotly.react of the home page's decision
regions, built by today's builders and by those of an older commit, in headless Chromium.

    python scripts/bench_chart_redraw.py [--old 6e43ffb] [--frames 12] [--repeats 3]
    python scripts/bench_chart_redraw.py --remount [--frames 12] [--repeats 3]

`--remount` compares, with today's builders, the two ways a live chart can take a new figure:
Plotly.react on the chart already drawn, and what a Streamlit page does today (a changed figure
is a new `st.plotly_chart` element, so the browser removes the old chart and draws a new one:
Plotly.purge, a fresh div, Plotly.newPlot).

A real short run of the home page's default settings (scripts/figure_pages.py) gives the
grids; each frame moves both nets' boundaries (the grid rolled by one more column), so every
redraw has new data, as on a live page. The figures go through the same preparation as on a
page (bnlab_ui.charts) and are drawn with the plotly.js of the installed plotly package
(Streamlit bundles its own build of plotly.js; the difference between builders is what is
compared). Old and new alternate, in one browser, so machine load affects both alike."""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
import figure_pages as fp  # noqa: E402

PAGE = "<html><body style='margin:0'><div id='g' style='width:1200px;height:380px'></div>" \
       "</body></html>"
# Draw the first frame, then time each further Plotly.react until the next animation frame
# (the redraw is on screen); returns milliseconds per frame.
REDRAW = """async (frames) => {
  const gd = document.getElementById('g');
  const first = JSON.parse(frames[0]);
  await Plotly.newPlot(gd, first.data, first.layout);
  const times = [];
  for (const text of frames.slice(1)) {
    const fig = JSON.parse(text);
    const t0 = performance.now();
    await Plotly.react(gd, fig.data, fig.layout);
    await new Promise(done => requestAnimationFrame(() => setTimeout(done, 0)));
    times.push(performance.now() - t0);
  }
  return times;
}"""


# What a Streamlit page does with a changed figure: a new element, so a new chart from scratch.
REMOUNT = """async (frames) => {
  const times = [];
  let gd = document.getElementById('g');
  const first = JSON.parse(frames[0]);
  await Plotly.newPlot(gd, first.data, first.layout);
  for (const text of frames.slice(1)) {
    const fig = JSON.parse(text);
    const t0 = performance.now();
    Plotly.purge(gd);
    const fresh = document.createElement('div');
    fresh.style.cssText = gd.style.cssText;
    gd.replaceWith(fresh);
    fresh.id = 'g';
    gd = fresh;
    await Plotly.newPlot(gd, fig.data, fig.layout);
    await new Promise(done => requestAnimationFrame(() => setTimeout(done, 0)));
    times.push(performance.now() - t0);
  }
  return times;
}"""


def frames(builders, run, n: int) -> list[str]:
    """n figures of the run whose boundaries move a column a frame, as the page sends them."""
    import numpy as np

    from bnlab_ui.charts import prepare, spec_json

    out = []
    for k in range(n):
        nets = {name: dataclasses.replace(view, latest=dict(
            view.latest, grid=np.roll(view.latest["grid"], k, axis=1)))
            for name, view in run.nets.items()}
        snap = dataclasses.replace(run, nets=nets)
        fig = builders.boundaries.boundary_figure(snap, show_test=False, height=380)
        out.append(spec_json(prepare(fig)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", default="6e43ffb", help="commit of the builders to compare")
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--remount", action="store_true",
                        help="Plotly.react in place vs a new chart a frame (today's builders)")
    args = parser.parse_args()
    import plotly
    from browser_server import launch_browser
    from playwright.sync_api import sync_playwright

    run = fp.train_runs(["home"])["home"]
    if args.remount:
        new = frames(fp.current_modules(), run, args.frames)
        sets, scripts = {"react": new, "remount": new}, {"react": REDRAW, "remount": REMOUNT}
    else:
        sets = {"old": frames(fp.modules_from_git(args.old), run, args.frames),
                "new": frames(fp.current_modules(), run, args.frames)}
        scripts = {"old": REDRAW, "new": REDRAW}
    first, second = sets
    traces = {k: sorted({t["type"] for t in json.loads(v[0])["data"]}) for k, v in sets.items()}
    script = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    times: dict[str, list[float]] = {k: [] for k in sets}
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.set_content(PAGE)
        page.add_script_tag(path=str(script))
        for r in range(args.repeats):
            for name in ((first, second) if r % 2 == 0 else (second, first)):
                times[name] += page.evaluate(scripts[name], sets[name])
        nodes = page.evaluate("document.getElementsByTagName('*').length")
        version = page.evaluate("Plotly.version")
        browser.close()
    print(f"plotly.js {version} (of the plotly package), {args.frames} frames x {args.repeats}, "
          f"load {os.getloadavg()[0]:.1f}; DOM nodes at the end {nodes}")
    print("| builders | traces | bytes a frame | redraw median ms | min | max |")
    print("|---|---|---|---|---|---|")
    for name in (first, second):
        t = times[name]
        size = statistics.median(len(f) for f in sets[name])
        label = {"old": args.old, "new": "this checkout"}.get(name, "this checkout")
        print(f"| {name} ({label}) | "
              f"{', '.join(traces[name])} | {size:,.0f} | {statistics.median(t):.1f} | "
              f"{min(t):.1f} | {max(t):.1f} |")
    print(f"ratio {second}/{first} (medians): "
          f"{statistics.median(times[second]) / statistics.median(times[first]):.2f}")


if __name__ == "__main__":
    main()
