"""BN Lab: the app's navigation (every page under its name in the session's language) and the
home page: a plain and a BN net learning the two moons live, side by side, and the map of the
lessons."""
from pathlib import Path

import streamlit as st

import bnlab_ui as ui
from bn_core.figures.boundaries import boundary_figure
from bn_core.figures.figure1 import accuracy_figure
from bn_core.i18n import N_, _
from bn_core.lessons.home import HOME_RUN, HOME_TITLE, LESSONS, accuracy_rows, page_name, page_order
from bnlab_ui import language

PAGES = Path(__file__).resolve().parent / "pages"


def home():
    """The home page."""
    lesson = ui.Lesson(
        N_("BN Lab: watch batch normalization work"),
        N_("Two small networks learn the two moons right now, from the same weights on the same "
           "batches: one plain, one with **batch normalization** (BN). Every difference you see "
           "is BN's."),
        more=N_("**Internal covariate shift** is the name Ioffe and Szegedy (2015) gave to a "
                "simple fact: while a deep network trains, every layer's weights change, so the "
                "*inputs* each higher layer sees keep changing their distribution (mean, spread) "
                "under it. **Batch normalization** normalises each unit's input over the "
                "mini-batch to zero mean and unit variance, then lets the net rescale it with a "
                "learnt **gamma** and shift it with a learnt **beta**. The lessons below let you "
                "test each claim made about it, live."),
        icon=":material/home:", page="app.py")

    with ui.guard(N_("the home page")):
        run = lesson.run(HOME_RUN)

        def boundaries(snap, brief):
            if not snap.nets:
                st.info(_("Preparing the run..."))
                return
            ui.chart(boundary_figure, snap, key="home:boundary", show_test=False, height=340)

        def accuracy(snap, brief):
            if not snap.nets:
                return
            c1, c2 = st.columns([3, 2])
            with c1:
                ui.chart(lambda s, title: accuracy_figure(s.nets, "train_acc", title, 280),
                         snap, _("Training accuracy of both nets"), key="home:acc")
            with c2:
                st.markdown(_("**Measured on this run**") + "\n" + "\n".join(accuracy_rows(snap)))
                if not brief:
                    st.caption(_("Same data, same batches, same initial weights: only BN "
                                 "differs."))

        lesson.section(N_("Decision boundaries"), boundaries,
                       say=N_("The BN net bends its boundary around the moons while the plain "
                              "net's is still almost straight."))
        lesson.section(N_("Training accuracy"), accuracy, say=N_("The same story in numbers."))
        lesson.live(run)

        if not lesson.present:
            st.header(_("The lessons"))
            cols = st.columns(2)
            for i, (path, title, blurb) in enumerate(LESSONS):
                with cols[i % 2].container(border=True):
                    st.page_link(path, label=f"**{_(title)}**", icon=":material/school:")
                    st.caption(_(blurb))
            st.caption(_("Everyone who opens a page with the same settings watches the same "
                         "run. Settings live in the page's URL: share the link to share the "
                         "experiment."))


# Every run starts here: the session's language first, so the sidebar's page names are in it.
language.setup()
# No page icon: the browser shows a page's icon as its favicon, and a Material icon there is
# fetched from a font host (no internet in a classroom); the served PNG is the favicon.
pages = {"app.py": st.Page(home, title=_(HOME_TITLE), default=True)}
pages.update({f"pages/{p.name}": st.Page(f"pages/{p.name}", title=page_name(p.name))
              for p in sorted(PAGES.glob("*.py"), key=lambda p: page_order(p.name))})
ui.core.NAV_PAGES.update(pages)
st.navigation(list(pages.values()), expanded=True).run()
