"""BN Lab home: a plain and a BN net learning the two moons live, side by side, and the map of
the lessons."""
import streamlit as st

import bnlab_ui as ui
from bn_core.figures.boundaries import boundary_figure
from bn_core.figures.figure1 import accuracy_figure
from bn_core.lessons.home import HOME_RUN, LESSONS, accuracy_rows

lesson = ui.Lesson(
    "BN Lab: watch batch normalization work",
    "Two small networks learn the two moons right now, from the same weights on the same "
    "batches: one plain, one with **batch normalization** (BN). Every difference you see is BN's.",
    more="**Internal covariate shift** is the name Ioffe and Szegedy (2015) gave to a simple "
         "fact: while a deep network trains, every layer's weights change, so the *inputs* each "
         "higher layer sees keep changing their distribution (mean, spread) under it. **Batch "
         "normalization** normalises each unit's input over the mini-batch to zero mean and unit "
         "variance, then lets the net rescale it with a learnt **gamma** and shift it with a "
         "learnt **beta**. The lessons below let you test each claim made about it, live.",
    icon=":material/home:")

with ui.guard("the home page"):
    run = lesson.run(HOME_RUN)

    def boundaries(snap, brief):
        if not snap.nets:
            st.info("Preparing the run...")
            return
        ui.chart(boundary_figure, snap, key="home:boundary", show_test=False, height=340)

    def accuracy(snap, brief):
        if not snap.nets:
            return
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(lambda s: accuracy_figure(s.nets, "train_acc",
                                               "Training accuracy of both nets", 280),
                     snap, key="home:acc")
        with c2:
            st.markdown("**Measured on this run**\n" + "\n".join(accuracy_rows(snap)))
            if not brief:
                st.caption("Same data, same batches, same initial weights: only BN differs.")

    lesson.section("Decision boundaries", boundaries,
                   say="The BN net bends its boundary around the moons while the plain net's is "
                       "still almost straight.")
    lesson.section("Training accuracy", accuracy, say="The same story in numbers.")
    lesson.live(run)

    if not lesson.present:
        st.header("The lessons")
        cols = st.columns(2)
        for i, (path, title, blurb) in enumerate(LESSONS):
            with cols[i % 2].container(border=True):
                st.page_link(path, label=f"**{title}**", icon=":material/school:")
                st.caption(blurb)
        st.caption("Everyone who opens a page with the same settings watches the same run. "
                   "Settings live in the page's URL: share the link to share the experiment.")
