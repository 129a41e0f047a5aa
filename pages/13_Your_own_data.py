"""Your own data: a plain and a BN net learn 2-D points the student uploads (a CSV of x1, x2,
label) or clicks onto a canvas. A data set is named by its content, so its link works for
every viewer of this server and they share its runs."""
import streamlit as st

import bnlab_ui as ui
from bn_core.data import custom
from bn_core.engine.training import training_set_size
from bn_core.figures.custom_data import canvas_chart, custom_accuracy_chart, custom_boundary_chart
from bn_core.lessons import custom_data as cd
from bn_core.markdown import literal
from bnlab_ui.charts import show_figure

EXAMPLE = cd.example()
BASE = cd.page_config(EXAMPLE.name)
FIELDS = ["whitening", "depth", "width", "activation", "lr", "batch_size", "steps", "seed"]
PENDING, ERROR, DRAFT, LAST_CLICK = ("custom:pending", "custom:error", "custom:draft",
                                     "custom:last-click")


def use(points: custom.CustomPoints, how: str) -> None:
    """Train on these points from the next run of the page on (the URL names them)."""
    custom.register(points)
    st.session_state[PENDING] = points.name
    st.session_state[ERROR] = None
    st.session_state["_bnlab_notice"] = f"Now training on {how}: {len(points.x):,} points."


def uploaded() -> None:
    file = st.session_state.get("custom:upload")
    if file is None:
        return
    try:
        points = custom.parse_csv(file.getvalue())
    except custom.UploadError as exc:
        st.session_state[ERROR] = f"{literal(file.name)}: {exc}"
        return
    use(points, f"your file {file.name}")


def train_drawing() -> None:
    try:
        points = cd.draft_points(st.session_state.get(DRAFT, []))
    except custom.UploadError as exc:
        st.session_state[ERROR] = f"Your drawing: {exc}"
        return
    use(points, "the points you drew")


if PENDING in st.session_state:  # a callback chose new data: the URL names it from now on
    st.query_params["data"] = st.session_state.pop(PENDING)

lesson = ui.Lesson(
    "Your own data",
    "A plain and a BN net learn **your** 2-D points side by side, from the same weights on the "
    "same batches. Upload a CSV or click points onto the canvas below the charts.",
    more="The file: a header row `x1,x2,label`, then one point per row; labels can be numbers "
         f"or short words, {custom.MIN_CLASSES} to {custom.MAX_CLASSES} classes, "
         f"{custom.MIN_POINTS} to {custom.MAX_POINTS:,} points. A fifth of each class is held "
         "out to measure accuracy. The page starts on an example (three fruits).\n\n"
         "A data set is named by its content, so the page's link works for everyone on this "
         "server, who then watch the same run. The server keeps the "
         f"{custom.MAX_SETS} most recently used data sets in memory until it restarts.",
    icon=":material/scatter_plot:")

with ui.guard("the your-own-data page"):
    requested = st.query_params.get("data")
    name = EXAMPLE.name
    if requested and requested != EXAMPLE.name:
        if custom.is_custom(requested) and custom.STORE.get(requested) is not None:
            name = requested
        else:
            st.warning(f"This link's data set {literal(requested)} is not on this server "
                       "(uploaded data sets stay in the server's memory until it restarts): "
                       "showing the example. Upload the file again to train on it.",
                       icon=":material/link_off:")
    points = custom.lookup(name)
    config = lesson.settings(BASE.replace(dataset=name), FIELDS)
    n_train = training_set_size(config)
    if config.batch_size > n_train:
        st.sidebar.caption(f"Batch size: your data has {n_train} training points, so the batches "
                           f"hold all {n_train}.")
        config = config.replace(batch_size=n_train)
    run = lesson.run(config)

    def regions(snap, brief):
        if not snap.nets:
            st.info("Building the two nets...")
            return
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(custom_boundary_chart, snap, key="custom:regions")
        with c2:
            lines = cd.findings(snap)
            st.markdown(lines[-1] if brief and lines else "\n".join(lines))
            if not brief:
                st.caption("**Look for** where each net puts its boundaries, and which held-out "
                           "crosses fall on the wrong side. **Try** whitening off, or ReLU.")

    def accuracy(snap, brief):
        if not snap.nets:
            return
        c1, c2 = st.columns([3, 2])
        with c1:
            ui.chart(custom_accuracy_chart, snap, key="custom:acc")
        with c2:
            n_train = len(snap.data.x_train) if snap.data is not None else 0
            st.markdown(cd.describe(points, n_train))
            if not brief:
                st.caption("Settings in the sidebar change the nets, not the data.")
        if not brief:
            with st.expander("Export this run"):
                ui.export_controls(snap, "your-data")

    lesson.section("Decision regions", regions, say="Where does each net draw its boundaries?")
    lesson.section("Held-out accuracy", accuracy, say="Which net gets your data right first?")
    lesson.live(run)

    if not lesson.present:
        st.subheader("Your data")
        error = st.session_state.get(ERROR)
        if error:
            st.error(error, icon=":material/error:")
        upload, draw, current = st.tabs(["Upload a CSV", "Click points", "This data set"])
        with upload:
            st.file_uploader("A CSV file: header x1,x2,label, one point per row",
                             key="custom:upload", on_change=uploaded,
                             help=f"At most {custom.MAX_FILE_BYTES // 1000} KB and "
                                  f"{custom.MAX_POINTS:,} points, {custom.MIN_CLASSES}-"
                                  f"{custom.MAX_CLASSES} classes.")
            st.download_button("The example as a CSV to start from", EXAMPLE.to_csv(),
                               file_name="bnlab-example-points.csv", mime="text/csv",
                               icon=":material/download:", on_click="ignore")
        with draw:
            draft = st.session_state.setdefault(DRAFT, [])
            label = st.segmented_control("Class of the next points", cd.CLASS_NAMES,
                                         default=cd.CLASS_NAMES[0], key="custom:class") \
                or cd.CLASS_NAMES[0]
            event = show_figure(canvas_chart(draft, cd.CLASS_NAMES), key="custom:canvas",
                                on_select="rerun", selection_mode="points")
            clicked = tuple((p["x"], p["y"]) for p in (event.selection.points if event else [])
                            if p.get("curve_number", 0) == 0)
            if clicked and clicked != st.session_state.get(LAST_CLICK):
                st.session_state[DRAFT] = cd.add_click(draft, clicked[-1], label)
                st.session_state[LAST_CLICK] = clicked
                st.rerun()
            st.session_state[LAST_CLICK] = clicked
            row = st.container(horizontal=True)
            row.button("Train on these points", icon=":material/play_arrow:", type="primary",
                       key="custom:train", on_click=train_drawing,
                       disabled=len(draft) < custom.MIN_POINTS)
            row.button("Undo", icon=":material/undo:", key="custom:undo", disabled=not draft,
                       on_click=lambda: st.session_state.__setitem__(DRAFT, draft[:-1]))
            row.button("Clear", icon=":material/delete:", key="custom:clear", disabled=not draft,
                       on_click=lambda: st.session_state.__setitem__(DRAFT, []))
            st.caption(f"{len(draft)} point{'s' if len(draft) != 1 else ''} drawn; at least "
                       f"{custom.MIN_POINTS}, in at least two classes, to train.")
        with current:
            st.caption(f"Its name on this server: `{points.name}` (in the page's link).")
            st.download_button("This data set as a CSV", points.to_csv(),
                               file_name=f"bnlab-{points.name.replace(':', '-')}.csv",
                               mime="text/csv", icon=":material/download:", on_click="ignore",
                               key="custom:download")
