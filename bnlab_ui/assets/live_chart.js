// BN Lab's live chart: one Plotly chart drawn in place (Plotly.react) each time the server
// sends a new figure, on an element whose identity is its key (Streamlit components v2).
// st.plotly_chart instead makes every changed figure a new element, which the browser builds
// anew (purge, newPlot, toolbar): 2.4-2.7x the drawing time (docs/benchmarks.md, section 14).
//
// bnlab_ui.charts serves this module from the app's static folder (the two placeholders below
// filled in) and loads it once per tab; each chart element then calls `draw` with its payload,
// UTF-8 JSON {"config": plotly config, "figure": {data, layout}}.
const PAGE_TEMPLATE = "__PAGE_TEMPLATE__";   // style.PAGE_TEMPLATE, under a figure without one
const PLOTLY = new URL("plotly.min.js?v=__PLOTLY_VERSION__", import.meta.url).href;
let loading = null;

function plotly() {
  if (globalThis.Plotly) return Promise.resolve(globalThis.Plotly);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = PLOTLY;
      script.async = true;
      script.onload = () => resolve(globalThis.Plotly);
      script.onerror = () => {
        loading = null;
        reject(new Error("plotly.js did not load from " + PLOTLY));
      };
      document.head.appendChild(script);
    });
  }
  return loading;
}

export default function draw({ data, parentElement }) {
  const el = parentElement.querySelector(".bnlab-chart");
  const note = parentElement.querySelector(".bnlab-chart-note");
  const text = new TextDecoder().decode(data);
  if (text === el.__bnlabText) return cleanup;   // a refresh that changed nothing on this chart
  el.__bnlabText = text;
  let payload;
  try {
    payload = JSON.parse(text);
  } catch (err) {
    note.textContent = "This chart's data could not be read: " + err;
    return;
  }
  let layout = payload.figure.layout || {};
  if (!layout.template) layout = Object.assign({}, layout, { template: PAGE_TEMPLATE });
  if (!el.dataset.draws) el.style.minHeight = (layout.height || 450) + "px";
  el.__bnlabLatest = payload;   // the newest figure wins; an older one still loading is dropped
  plotly().then((Plotly) => {
    if (el.__bnlabLatest !== payload) return;
    const redraw = el.dataset.draws ? Plotly.react : Plotly.newPlot;
    return redraw(el, payload.figure.data || [], layout, payload.config).then(() => {
      el.dataset.draws = String(Number(el.dataset.draws || 0) + 1);
      el.style.minHeight = "";
      note.textContent = "";
      if (!el.__bnlabResize) {   // the column's width changes (sidebar, window): fit it again
        el.__bnlabResize = new ResizeObserver(() => {
          // not while the chart is hidden or leaving the page (a page switch): plotly.js
          // rejects resizing a plot that is not displayed
          if (!el.isConnected || !el.getClientRects().length) return;
          Plotly.Plots.resize(el).catch(() => {});
        });
        el.__bnlabResize.observe(parentElement);
      }
    });
  }).catch((err) => {
    note.textContent = "This chart could not be drawn: " + err.message;
  });
  return cleanup;

  // Nothing here is referenced from outside the element (no window listeners: the resize
  // observer watches the element's own parent), so a chart removed from the page is freed
  // with it; Streamlit calls this on unmount as well.
  function cleanup() {
    if (el.__bnlabResize) el.__bnlabResize.disconnect();
    el.__bnlabResize = null;
    el.__bnlabText = null;
    if (globalThis.Plotly && el.dataset.draws) globalThis.Plotly.purge(el);
    delete el.dataset.draws;
  }
}
