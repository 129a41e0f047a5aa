"""Minimal Streamlit app showing the page-change race (see bnlab_ui/streamlit_fixes.py):
`python drive.py PORT BROWSERS PAGE_CHANGES`, with REPRO_FIX=1 to install the workaround."""
import os, time
import streamlit as st
import shared
if os.environ.get("REPRO_FIX") == "1":
    import sys, pathlib; sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
    from bnlab_ui import streamlit_fixes; streamlit_fixes.install()

def body(name):
    if shared.target() != name:
        st.switch_page(PAGES[shared.target()])
    st.title(f"Page {name}")
    st.write("one"); st.write("two"); st.write("three")
    @st.fragment(run_every=0.3)
    def live():
        for i in range(5):
            st.write(f"{name} live {time.time():.2f} {i}")
        time.sleep(0.02)
    live()
    @st.fragment(run_every=0.5)
    def follow():
        if shared.target() != name:
            st.rerun()
        st.caption("following")
    with st.sidebar:
        follow()

def a(): body("a")
def b(): body("b")
PAGES = {"a": st.Page(a, title="A", url_path="a", default=True), "b": st.Page(b, title="B", url_path="b")}
st.navigation(list(PAGES.values())).run()
