"""The frame every lesson page is drawn in: experiment first.

    lesson = Lesson("Figure 1, live", intro="Two sentences.", more="The rest, one click away.")
    config = lesson.settings(BASE, ["lr", "steps"])        # sidebar widgets, bound to the URL
    view = lesson.views([LAYER])                           # display-only options, no new run
    run = lesson.run(config)                               # the shared run (or the student's own)
    lesson.section("Held-out accuracy", draw_accuracy, say="BN is ahead early.")
    lesson.section("Percentile bands", draw_bands, say="Plain drifts, BN stays.")
    lesson.live(run)

At 1280x720 the title, two sentences of introduction, the control bar and the first section's
chart fit on the first screen. `live` draws the control bar, a time scrubber and the sections
in one fragment that refreshes about once a second while the run is live. A section's draw
function gets the snapshot (as it was at the scrubbed step) and `brief`: True in the projector
view (`?present=1`), where one section is shown at a time, large, its `say` line above it, with
Previous/Next (PageUp/PageDown, what presentation clickers send). That view leaves out the
introduction (the teacher says it), draws the text in px (PRESENT_CSS: 28 px say line, 20-23 px
text) while Streamlit's spacing stays in rem, the control bar by its icons, and the charts in
the projector theme (bn_core.figures.style.PROJECTOR), so at 1280x720 the whole first chart is
on the first screen (docs/screenshots/present-*.png, tests/test_browser_present.py).

A lesson made of many sections the student steps through (`Lesson(..., steps=True)`) shows one
section at a time in every view: a step bar (Previous, one button per section, Next) above it,
and the section in the URL (`?section=<name>`, or its number), so a link opens that section and
a class following the teacher sees the teacher's. `current()` tells the page which section is
shown (to draw only that section's settings). A lesson with no run draws its sections with
`static(data)`: each draw function gets `data` in place of a snapshot.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import streamlit as st

from bn_core.engine.records import recorded_steps, snapshot_at
from bn_core.i18n import N_, _
from bn_core.markdown import url_value
from bnlab_ui import (charts, classroom, controls, core, language, replays, roles, settings,
                      streamlit_fixes)
from bnlab_ui import runs as run_ui

PRESENT_KEY = "present"
SECTION_KEY = "section"   # URL parameter: the section a stepped lesson shows

BASE_CSS = """
<style>
.block-container {padding-top: 2.2rem; padding-bottom: 2rem;}
h1 {font-size: 1.9rem !important; padding-bottom: 0.2rem !important;}
h3 {font-size: 1.15rem !important; margin-top: 0.3rem !important;}
[data-testid="stCaptionContainer"] p {margin-bottom: 0.1rem;}
</style>"""
PRESENT_CSS = """
<style>
/* The projector view: the text large (px, for the back of a lecture room at 1280x720), while
   Streamlit's own spacing (rem) stays as it is, so the first section's chart is on the first
   screen. The header is see-through: the page starts near the top. */
[data-testid="stHeader"] {background: transparent;}
.block-container {padding-top: 1.3rem !important; padding-bottom: 1rem !important;}
h1 {font-size: 40px !important; padding: 0 0 0.4rem 0 !important;}
[data-testid="stMain"] [data-testid="stMarkdownContainer"] p,
[data-testid="stMain"] [data-testid="stMarkdownContainer"] li {font-size: 23px; line-height: 1.4;}
[data-testid="stMain"] [data-testid="stCaptionContainer"] p {font-size: 20px;}
[data-testid="stMain"] button [data-testid="stMarkdownContainer"] p {font-size: 19px; line-height: 1.3;}
[data-testid="stMain"] [data-testid="stWidgetLabel"] p {font-size: 20px;}
[data-testid="stMain"] kbd:not([aria-label*="Page"]) {display: none;}  /* K, S, B: in the tooltips */
[data-testid="stMain"] [data-testid="stVerticalBlock"] {gap: 0.6rem;}
/* The control bar's buttons show their icons only (their tooltips name them and their keys;
   the labels stay for screen readers): the step counter then fits on the same row. */
[class*="-live-pause"] button [data-testid="stMarkdownContainer"],
[class*="-live-play"] button [data-testid="stMarkdownContainer"],
[class*="-live-step1"] button [data-testid="stMarkdownContainer"],
[class*="-live-restart"] button [data-testid="stMarkdownContainer"],
[class*="-live-stop"] button [data-testid="stMarkdownContainer"] {
  position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%);
  white-space: nowrap;}
.bnlab-say {font-size: 28px; font-weight: 600; line-height: 1.3; margin: 0;}
</style>"""
MOBILE_CSS = """
<style>
@media (max-width: 640px) {
  .block-container {padding-left: 0.6rem; padding-right: 0.6rem; padding-top: 3.9rem;}  /* below the 60 px header */
  h1 {font-size: 1.35rem !important;}
  [data-testid="stHorizontalBlock"] {flex-wrap: wrap;}
  [data-testid="stHorizontalBlock"] > [data-testid="stColumn"] {min-width: 100% !important;}
  [data-testid="stButtonGroup"] div {flex-wrap: wrap;}  /* a step bar of 9 sections fits 390 px */
}
</style>"""


@dataclass
class Section:
    title: str
    draw: Callable
    say: str = ""
    name: str = ""   # its URL value (?section=name); from the title unless given


def section_name(title: str) -> str:
    """A title as a URL value: "The backward pass" -> "the-backward-pass"."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "section"


def presenting() -> bool:
    """The projector view: ?present=1 in the URL (the teacher's toggle sets it)."""
    return str(st.query_params.get(PRESENT_KEY, "")).strip() in ("1", "true", "yes")


IDLE_REFRESH_SECONDS = 3.0


class Lesson:
    """One lesson page (see the module docstring)."""

    def __init__(self, title: str, intro: str, more: str = "", icon: str = ":material/science:",
                 page: str | None = None, steps: bool = False, more_values: dict | None = None):
        core.through_app()
        language.setup()  # before any text: the page's English strings are translated here
        self.name = title  # the English title: widget keys and statistics, in every language
        title, intro, more = _(title), _(intro), _(more)
        if more_values:  # `more` with {named} slots, filled after it is translated
            more = more.format(**more_values)
        self.title, self.intro, self.more = title, intro, more
        self.page = page or core.script_path()
        self.sections: list[Section] = []
        self.steps = steps
        self.present = presenting()
        st.set_page_config(page_title=f"{title} - BN Lab", page_icon=core.PAGE_ICON, layout="wide",
                           initial_sidebar_state="collapsed" if self.present else "auto")
        st.session_state["_page_title"] = self.name
        st.session_state[replays.PAGE_STATE] = (self.name, self.page)
        st.html(BASE_CSS + MOBILE_CSS + (PRESENT_CSS if self.present else "")
                + language.streamlit_words_css())
        charts.projector(self.present)
        streamlit_fixes.mend_white_pages()
        core.warm_up()
        classroom.sync(self.page)
        st.title(title)
        if not self.present:  # the projector view: the teacher says it; the chart comes first
            st.markdown(intro)
        if more and not self.present:
            with st.expander(_("More about this lesson"), icon=":material/menu_book:"):
                st.markdown(more)
        notice = st.session_state.pop(controls.LEFT_KEY, None)
        if notice:
            st.info(notice, icon=":material/call_split:")
        roles.teacher_panel()
        language.selector()

    # -- settings
    def settings(self, base, names, **kwargs):
        return settings.config_controls(base, names, **kwargs)

    def views(self, specs, **kwargs) -> dict:
        return settings.view_controls(specs, **kwargs)

    # -- runs
    def run(self, config, autostart: bool = True):
        """The run of this config on this page: shared, or the student's own copy when they
        explore (or left a shared run); None, with the reason shown, if it cannot train.
        A recording the viewer opened (sidebar: Show a recorded run) stands in for it, and
        nothing trains; of several configs, it stands in for the one it was recorded with."""
        replay = replays.opened(self.page)
        if replay is not None and not isinstance(config, list):
            return replays.ReplayRun(replay)
        scope = classroom.run_scope(self.page)
        held = classroom.round_holds_run(self.page)
        if replay is not None:
            keys = [c.key() for c in config]
            if replay.config.key() not in keys:
                st.warning(_("The recorded run you opened is none of the runs this page "
                             "compares now: showing the live runs."), icon=":material/movie:")
            else:
                i = keys.index(replay.config.key())
                others = run_ui.run_controls(config[:i] + config[i + 1:], autostart=autostart
                                             and not held, scope=scope, buttons=False) \
                    if len(config) > 1 else []
                if others is None:
                    return None
                return others[:i] + [replays.ReplayRun(replay)] + others[i:]
        return run_ui.run_controls(config, autostart=autostart and not held, scope=scope,
                                 buttons=False)

    # -- layout
    def section(self, title: str, draw: Callable, say: str = "", name: str = "") -> None:
        self.sections.append(Section(_(title), draw, _(say), name or section_name(title)))

    def current(self) -> Section | None:
        """The section a stepped lesson shows now (from the URL); None when all are shown."""
        if not self.steps or not self.sections:
            return None
        return self.sections[self._step_index()[0]]

    def live(self, runs, refresh: float = core.REFRESH_SECONDS, scrubber: bool = True,
             shown: Callable | None = None) -> None:
        """The control bar, the scrubber and the sections, refreshed while a run is live.

        `shown(snapshot)`, if given, is what the sections and a prediction's measure see of
        each run's snapshot (after the scrubber): for settings that change how a run is
        evaluated, not how it trains (e.g. the run re-scored on test data the student moved).
        It must not train."""
        if runs is None:
            return
        many = isinstance(runs, list)
        runs = runs if many else [runs]
        registry, viewer = core.get_registry(), core.viewer_id()
        recorded = [r for r in runs if isinstance(r, replays.ReplayRun)]
        trained = [r for r in runs if not isinstance(r, replays.ReplayRun)]
        # a page whose runs are not live still looks every few seconds: a shared run may be
        # restarted by the teacher or another viewer, and this page must notice
        interval = refresh if any(r.snapshot().live for r in trained) else IDLE_REFRESH_SECONDS
        key = f"{self.name}|live"
        view = shown or (lambda snap: snap)
        replays.sidebar(self.page)

        @st.fragment(run_every=interval)
        def fragment():
            if controls.LEFT_KEY in st.session_state:
                st.rerun()  # a button here left the shared run: the whole page changes runs
            language.apply()
            started = core.REFRESH_TIMES.start()
            for r in trained:
                registry.watch(r, viewer)
            snaps = [r.snapshot() for r in runs]
            # Each part that may show more or fewer elements from one refresh to the next (a
            # notice, a question, the scrubber once there are steps to scrub) sits in its own
            # container, so the charts below keep their place in the page and Streamlit updates
            # them in place instead of drawing them anew (a blank chart for a moment).
            with st.container(), core.guard(N_("the controls")):
                if trained:
                    live_snaps = [s for r, s in zip(runs, snaps) if r in trained]
                    controls.control_bar(trained, live_snaps, viewer, self.page,
                                         default_pace=trained[0].config.pace, key=key)
                if recorded:
                    replays.bar(recorded, self.page)
            with st.container(), core.guard(N_("the controls")):
                if trained:
                    run_ui.run_notices(live_snaps[0])
            with st.container():
                blocked = classroom.question_blocks(self.page, view(snaps[0]))
            if blocked:
                return
            with st.container():
                snaps = self._first_paint(runs, snaps)
                scrubbed = self._scrub(snaps, key) if scrubber else snaps
            drawn = [view(s) for s in scrubbed]
            with st.container():
                self._draw_sections(drawn if many else drawn[0])
            core.REFRESH_TIMES.add(self.name, started)
            live = any(r.snapshot().live for r in trained)
            if (interval == refresh) != live:
                st.rerun()  # one full rerun turns the timer on or off

        fragment()

    def _first_paint(self, runs, snaps):
        """A live run with nothing recorded yet is drawn from the recording of its settings
        that ships with the app (if there is one), said so, until it has records of its own."""
        out = []
        for r, snap in zip(runs, snaps):
            if not isinstance(r, replays.ReplayRun) and snap.live and not any(
                    len(v.evals.get("step", ())) for v in snap.nets.values()):
                recording = replays.first_paint(r.config)
                if recording is not None:
                    snap = recording.snapshot()
                    st.caption(_(":material/movie: Until this run has records of its own: the "
                                 "same settings, recorded earlier ({step:,} steps).").format(
                                     step=snap.step))
            out.append(snap)
        return out

    def static(self, data=None) -> None:
        """Sections with no run (a lesson about the layer's own arithmetic): each draw function
        gets `data` in place of a snapshot, and so does an open question's `measure`."""
        if classroom.question_blocks(self.page, data):
            return
        self._draw_sections(data)

    def _step_index(self) -> tuple[int, str | None]:
        """The stepped section in the URL (a name or a 1-based number): (index, notice)."""
        raw = str(st.query_params.get(SECTION_KEY, "")).strip()
        if not raw:
            return 0, None
        names = [s.name for s in self.sections]
        if raw in names:
            return names.index(raw), None
        if raw.isdigit() and 1 <= int(raw) <= len(names):
            return int(raw) - 1, None
        return 0, _("{value} is not a section of this lesson (one of {names}, or 1 to {count}); "
                    "showing the first, {first}.").format(
                        value=url_value(SECTION_KEY, raw), names=", ".join(names),
                        count=len(names), first=core.escape_markdown(self.sections[0].title))

    def _step_bar(self) -> Section:
        """Previous, one button per section, Next; the URL holds the choice (see the module
        docstring). Returns the section to draw."""
        i, notice = self._step_index()
        names = [s.name for s in self.sections]
        # the section shown is named, the others numbered: eight steps fit one row at 1280 px
        labels = {s.name: f"{n + 1}. {s.title}" if n == i else str(n + 1)
                  for n, s in enumerate(self.sections)}
        key = f"{self.name}|{SECTION_KEY}"
        st.session_state[key] = names[i]   # the URL decides: a link, Previous/Next, the teacher

        def go(j: int) -> None:
            if j == 0:
                st.query_params.pop(SECTION_KEY, None)
            else:
                st.query_params[SECTION_KEY] = names[j]

        def picked() -> None:
            chosen = st.session_state.get(key)
            go(names.index(chosen) if chosen in names else 0)

        bar = st.container(horizontal=True, vertical_alignment="center", gap="small")
        bar.button(_("Previous"), icon=":material/chevron_left:", key=f"{key}:prev",
                   shortcut="PageUp", disabled=i == 0, on_click=go, args=(max(i - 1, 0),),
                   help=_("The previous section (PageUp)"))
        bar.segmented_control(_("Section"), names, key=key, format_func=labels.get,
                              required=True, on_change=picked, label_visibility="collapsed",
                              help=" · ".join(f"{n + 1}. {s.title}"
                                              for n, s in enumerate(self.sections)))
        bar.button(_("Next"), icon=":material/chevron_right:", key=f"{key}:next",
                   shortcut="PageDown", disabled=i == len(names) - 1, on_click=go,
                   args=(min(i + 1, len(names) - 1),), help=_("The next section (PageDown)"))
        if notice:
            st.warning(notice, icon=":material/link_off:")
        return self.sections[i]

    def _scrub(self, snaps, key: str):
        steps = recorded_steps(snaps[0]) if snaps[0].nets else []
        if len(steps) < 3:
            return snaps
        follow_key, value_key = f"{key}:follow", f"{key}:scrub"
        latest = steps[-1]
        if st.session_state.get(follow_key, True) or st.session_state.get(value_key) is None:
            st.session_state[value_key] = latest
        st.session_state[value_key] = min(max(st.session_state[value_key], 0), latest)

        def moved():
            # a page switch (the class following the teacher) may have dropped the widget's
            # state before its callback runs: nothing moved then
            value = st.session_state.get(value_key)
            if value is not None:
                st.session_state[follow_key] = value >= latest

        row = st.columns([1.3, 6], vertical_alignment="center")
        step = st.session_state[value_key]
        row[0].markdown(_("**Step shown**") if step >= latest else
                        _("**Step {step:,}** (run at {run_step:,})").format(
                            step=step, run_step=snaps[0].step),
                        help=_("Every chart shows the run at this recorded step. Drag back to "
                               "see how it was; drag to the right end to follow it live again."))
        # max = the newest record, so the slider's identity (Streamlit hashes a keyed slider's
        # min, max and step) changes with every new record and the browser mounts a new slider
        # each refresh. A fixed max (the run's end) was tried: in a real browser (not in
        # AppTest) the page then stopped following at the slider's first value ("Step 200 (run
        # at 2,197)"); most likely the browser reports that value back and it runs `moved`
        # (not proven). Issue 10.
        row[1].slider(_("Step shown"), 0, latest, key=value_key, step=max(1, steps[1] - steps[0]),
                      on_change=moved, label_visibility="collapsed")
        if step >= latest:
            return snaps
        return [snapshot_at(s, step) for s in snaps]

    def _draw_sections(self, shown) -> None:
        if not self.sections:
            return
        if self.steps:
            section = self._step_bar()
            if self.present:
                self._say(section)
            with core.guard(section.title):
                section.draw(shown, self.present)
            return
        if self.present:
            index_key = f"{self.name}|section"
            i = min(st.session_state.get(index_key, 0), len(self.sections) - 1)
            nav = st.container(horizontal=True, vertical_alignment="center")
            nav.button(_("Previous"), icon=":material/chevron_left:", key=f"{index_key}:prev",
                       shortcut="PageUp", disabled=i == 0,
                       on_click=lambda: st.session_state.__setitem__(index_key, i - 1))
            nav.markdown(_("**{number} of {count}: {title}**").format(
                number=i + 1, count=len(self.sections), title=self.sections[i].title))
            nav.button(_("Next"), icon=":material/chevron_right:", key=f"{index_key}:next",
                       shortcut="PageDown", disabled=i == len(self.sections) - 1,
                       on_click=lambda: st.session_state.__setitem__(index_key, i + 1))
            section = self.sections[i]
            self._say(section)
            with core.guard(section.title):
                section.draw(shown, True)
            return
        for n, section in enumerate(self.sections):
            with st.container():
                if n:
                    st.subheader(section.title)
                with core.guard(section.title):
                    section.draw(shown, False)

    @staticmethod
    def _say(section: Section) -> None:
        """The projector view's line for a section, what the teacher says: above its chart, so
        the class reads the question before the chart that answers it."""
        if section.say:
            st.html(f'<p class="bnlab-say">{core.escape_html(section.say)}</p>')
