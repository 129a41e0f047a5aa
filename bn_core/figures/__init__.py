"""Plotly figures built from run snapshots: one module per lesson, shared style in `style`.

Figures are built deterministically from a snapshot (same snapshot, same figure), with
numpy arrays downcast to float32 so the websocket payload stays small.
"""
