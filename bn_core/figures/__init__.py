"""Figure builders: one module per lesson, the shared style, subplot domains, ticks and themes
in `style`.

Every builder returns a figure as plain data, {"data": [...], "layout": {...}}, built
deterministically from a snapshot (same snapshot, same figure) without plotly.graph_objects:
no validation and no make_subplots on a refresh. Arrays stay numpy (float32, int32 steps,
uint8 grids) and travel as base64 typed arrays (bnlab_ui.charts encodes them once).
"""
