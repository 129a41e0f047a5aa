// BN Lab's live chart: one Plotly chart drawn in place (Plotly.react) each time the server
// sends a new figure, on an element whose identity is its key (Streamlit components v2).
// st.plotly_chart instead makes every changed figure a new element, which the browser builds
// anew (purge, newPlot, toolbar): 2.4-2.7x the drawing time (docs/benchmarks.md, section 14).
// The payload is UTF-8 JSON: {"src": plotly.js URL, "config": {...}, "template": the page's
// plotly template, "figure": {data, layout}}.
const loading = (globalThis.__bnlabPlotly ||= {});

function plotly(src) {
  if (globalThis.Plotly) return Promise.resolve(globalThis.Plotly);
  if (!loading[src]) {
    loading[src] = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.async = true;
      script.onload = () => resolve(globalThis.Plotly);
      script.onerror = () => {
        delete loading[src];
        reject(new Error("plotly.js did not load from " + src));
      };
      document.head.appendChild(script);
    });
  }
  return loading[src];
}

export default function ({ data, parentElement }) {
  const el = parentElement.querySelector(".bnlab-chart");
  const note = parentElement.querySelector(".bnlab-chart-note");
  let payload;
  try {
    payload = JSON.parse(new TextDecoder().decode(data));
  } catch (err) {
    note.textContent = "This chart's data could not be read: " + err;
    return;
  }
  let layout = payload.figure.layout || {};
  if (!layout.template && payload.template) layout = Object.assign({}, layout, { template: payload.template });
  if (!el.dataset.draws) el.style.minHeight = (layout.height || 450) + "px";
  el.__bnlabLatest = payload;            // the newest figure wins; an older one still loading is dropped
  plotly(payload.src).then((Plotly) => {
    if (el.__bnlabLatest !== payload) return;
    const config = Object.assign({ responsive: true }, payload.config);
    const draw = el.dataset.draws ? Plotly.react : Plotly.newPlot;
    return draw(el, payload.figure.data || [], layout, config).then(() => {
      el.dataset.draws = String(Number(el.dataset.draws || 0) + 1);
      el.style.minHeight = "";
      note.textContent = "";
      if (!el.__bnlabResize) {             // the sidebar opening or closing resizes the column
        el.__bnlabResize = new ResizeObserver(() => Plotly.Plots.resize(el));
        el.__bnlabResize.observe(parentElement);
      }
    });
  }).catch((err) => {
    note.textContent = "This chart could not be drawn: " + err.message;
  });
  return () => {
    if (el.__bnlabResize) el.__bnlabResize.disconnect();
    el.__bnlabResize = null;
    if (globalThis.Plotly && el.dataset.draws) globalThis.Plotly.purge(el);
    delete el.dataset.draws;
  };
}
