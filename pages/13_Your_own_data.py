"""Your own data: a plain and a BN net learn 2-D points the student uploads (a CSV of x1, x2,
label) or clicks onto a canvas. A data set is named by its content, so its link works for
every viewer of this server and they share its runs."""
import streamlit as st

import bnlab_ui as ui
from bn_core.data import custom
from bn_core.engine.run_data import training_set_size
from bn_core.i18n import N_, _, ngettext
from bn_core.figures.custom_data import canvas_chart, custom_accuracy_chart, custom_boundary_chart
from bn_core.lessons import custom_data as cd
from bn_core.markdown import literal
from bnlab_ui import language
from bnlab_ui.charts import show_figure

EXAMPLE = cd.example()
BASE = cd.page_config(EXAMPLE.name)
FIELDS = ["whitening", "depth", "width", "activation", "lr", "batch_size", "steps", "seed"]
PENDING, ERROR, DRAFT, LAST_CLICK = ("custom:pending", "custom:error", "custom:draft",
                                     "custom:last-click")


def use(points: custom.CustomPoints, notice: str) -> None:
    """Train on these points from the next run of the page on (the URL names them); `notice`
    says so."""
    custom.register(points)
    st.session_state[PENDING] = points.name
    st.session_state[ERROR] = None
    st.session_state["_bnlab_notice"] = notice


def uploaded() -> None:
    language.apply()  # a callback may run in a new thread: the session's language for it
    file = st.session_state.get("custom:upload")
    if file is None:
        return
    try:
        points = custom.parse_csv(file.getvalue())
    except custom.UploadError as exc:
        st.session_state[ERROR] = f"{literal(file.name)}: {exc}"
        return
    use(points, _("Now training on your file {file}: {n:,} points.").format(
        file=file.name, n=len(points.x)))


def train_drawing() -> None:
    language.apply()
    try:
        points = cd.draft_points(st.session_state.get(DRAFT, []))
    except custom.UploadError as exc:
        st.session_state[ERROR] = _("Your drawing: {problem}").format(problem=exc)
        return
    use(points, _("Now training on the points you drew: {n:,} points.").format(
        n=len(points.x)))


if PENDING in st.session_state:  # a callback chose new data: the URL names it from now on
    st.query_params["data"] = st.session_state.pop(PENDING)

lesson = ui.Lesson(
    N_("Your own data"),
    N_("A plain and a BN net learn **your** 2-D points side by side, from the same weights on the "
       "same batches. Upload a CSV or click points onto the canvas below the charts."),
    more=N_("The file: a header row `x1,x2,label`, then one point per row; labels can be "
            "numbers or short words, {min_classes} to {max_classes} classes, {min_points} to "
            "{max_points:,} points. A fifth of each class is held out to measure accuracy. The "
            "page starts on an example (three fruits).\n\n"
            "A data set is named by its content, so the page's link works for everyone on this "
            "server, who then watch the same run. The server keeps the {max_sets} most recently "
            "used data sets in memory until it restarts."),
    more_values=dict(min_classes=custom.MIN_CLASSES, max_classes=custom.MAX_CLASSES,
                     min_points=custom.MIN_POINTS, max_points=custom.MAX_POINTS,
                     max_sets=custom.MAX_SETS),
    icon=":material/scatter_plot:")

with ui.guard(N_("the your-own-data page")):
    requested = st.query_params.get("data")
    name = EXAMPLE.name
    if requested and requested != EXAMPLE.name:
        if custom.is_custom(requested) and custom.STORE.get(requested) is not None:
            name = requested
        else:
            st.warning(_("This link's data set {name} is not on this server (uploaded data "
                         "sets stay in the server's memory until it restarts): showing the "
                         "example. Upload the file again to train on it.").format(
                             name=literal(requested)),
                       icon=":material/link_off:")
    points = custom.lookup(name)
    config = lesson.settings(BASE.replace(dataset=name), FIELDS)
    n_train = training_set_size(config)
    if config.batch_size > n_train:
        st.sidebar.caption(_("Batch size: your data has {n} training points, so the batches "
                             "hold all {n}.").format(n=n_train))
        config = config.replace(batch_size=n_train)
    run = lesson.run(config)

    def regions(snap, brief):
        if not snap.nets:
            st.info(_("Building the two nets..."))
            return
        c1, c2 = st.columns([3, 2])
        with c1:
            # the projector view: a little shorter, so the whole chart is on the first screen
            ui.chart(custom_boundary_chart, snap, 340 if brief else 400, key="custom:regions")
        with c2:
            # every line, in the projector view too: its last ("So far only the BN net has.")
            # says nothing without the lines above it
            st.markdown("\n".join(cd.findings(snap)))
            if not brief:
                st.caption(_("**Look for** where each net puts its boundaries, and which "
                             "held-out crosses fall on the wrong side. **Try** whitening off, or "
                             "ReLU."))

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
                st.caption(_("Settings in the sidebar change the nets, not the data."))
        if not brief:
            with st.expander(_("Export this run")):
                ui.export_controls(snap, "your-data")

    lesson.section(N_("Decision regions"), regions,
                   say=N_("Where does each net draw its boundaries?"))
    lesson.section(N_("Held-out accuracy"), accuracy,
                   say=N_("Which net gets your data right first?"))
    lesson.live(run)

    if not lesson.present:
        st.subheader(_("Your data"))
        error = st.session_state.get(ERROR)
        if error:
            st.error(error, icon=":material/error:")
        upload, draw, current = st.tabs([_("Upload a CSV"), _("Click points"), _("This data set")])
        with upload:
            st.file_uploader(_("A CSV file: header x1,x2,label, one point per row"),
                             key="custom:upload", on_change=uploaded,
                             help=_("At most {kb} KB and {points:,} points, {least}-{most} "
                                    "classes.").format(kb=custom.MAX_FILE_BYTES // 1000,
                                                       points=custom.MAX_POINTS,
                                                       least=custom.MIN_CLASSES,
                                                       most=custom.MAX_CLASSES))
            st.download_button(_("The example as a CSV to start from"), EXAMPLE.to_csv(),
                               file_name="bnlab-example-points.csv", mime="text/csv",
                               icon=":material/download:", on_click="ignore")
        with draw:
            draft = st.session_state.setdefault(DRAFT, [])
            label = st.segmented_control(_("Class of the next points"), cd.CLASS_NAMES,
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
            row.button(_("Train on these points"), icon=":material/play_arrow:", type="primary",
                       key="custom:train", on_click=train_drawing,
                       disabled=len(draft) < custom.MIN_POINTS)
            row.button(_("Undo"), icon=":material/undo:", key="custom:undo", disabled=not draft,
                       on_click=lambda: st.session_state.__setitem__(DRAFT, draft[:-1]))
            row.button(_("Clear"), icon=":material/delete:", key="custom:clear", disabled=not draft,
                       on_click=lambda: st.session_state.__setitem__(DRAFT, []))
            st.caption(ngettext("{n} point drawn; at least {least}, in at least two classes, "
                                "to train.",
                                "{n} points drawn; at least {least}, in at least two classes, "
                                "to train.", len(draft)).format(n=len(draft),
                                                                least=custom.MIN_POINTS))
        with current:
            st.caption(_("Its name on this server: `{name}` (in the page's link).").format(
                name=points.name))
            st.download_button(_("This data set as a CSV"), points.to_csv(),
                               file_name=f"bnlab-{points.name.replace(':', '-')}.csv",
                               mime="text/csv", icon=":material/download:", on_click="ignore",
                               key="custom:download")
