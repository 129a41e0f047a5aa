"""Each lesson's own computations (pure functions, no Streamlit)."""
