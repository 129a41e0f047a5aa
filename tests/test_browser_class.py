"""A lecture in a real browser (issue 8): a teacher and five students on one server.

The teacher signs in with the key (a wrong key is refused, a repeated wrong key slowed); a
student's Stop on the class run leaves the run training for the others; the teacher's change of
page reaches every following student promptly; a student who explores has runs of their own;
a prediction round goes from the question to the revealed distribution beside the answer
measured on the run. Waits are on conditions; where the issue names a bound (2 s to follow),
it is scaled by the machine's load and the measured time is printed."""
from __future__ import annotations

import re
import time

import pytest

from browser_server import (ARTIFACTS, Server, browser_available, launch_browser, our_tracebacks,
                            LoadMeter, slow_down, wait_idle)
from conftest import wait_until
from test_browser_lesson import button, step_of

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if not browser_available():
    pytest.skip("Debian's chromium (/usr/bin/chromium) or playwright is not installed",
                allow_module_level=True)

from playwright.sync_api import Error as PlaywrightError, sync_playwright  # noqa: E402

KEY = "correct horse battery staple"
STUDENTS = 5


@pytest.fixture(scope="module")
def server():
    srv = Server(env={"BNLAB_TEACHER_KEY": KEY}, log_name="server-class.log")
    yield srv
    srv.stop()
    log = srv.log_text()
    assert KEY not in log, "the teacher key reached the server log"
    assert not our_tracebacks(log), "the server logged a traceback in BN Lab's code"


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = launch_browser(pw)
        yield b
        b.close()


def open_page(browser, url: str):
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    ctx.set_default_timeout(120_000)  # a loaded machine serves pages slowly
    page = ctx.new_page()
    # what the browser says goes to the page's log: a page gone white must say why
    log = []
    page.on("console", lambda m: log.append(f"console {m.type}: {m.text}"[:500])
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: log.append(f"pageerror: {e}"[:1000]))
    page.on("crash", lambda _: log.append("crash"))
    def on_websocket(ws):
        log.append(f"websocket opened at {time.monotonic():.1f}: {ws.url[-40:]}")
        ws.on("close", lambda _: log.append(f"websocket closed at {time.monotonic():.1f}"))
        ws.on("socketerror", lambda e: log.append(f"websocket error at {time.monotonic():.1f}: {e}"))
    page.on("websocket", on_websocket)
    page.browser_log = log
    page.goto(url, wait_until="commit", timeout=180_000)
    wait_idle(page, timeout_ms=120_000)
    return ctx, page


def dump_pages(pages, prefix: str) -> None:
    """A failed lecture leaves each page's screenshot, text and browser log in artifacts/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for n, page in enumerate(pages):
        try:
            page.screenshot(path=str(ARTIFACTS / f"{prefix}-{n}.png"), timeout=10_000)
        except Exception as exc:  # a crashed page cannot be shot; its log says why
            page.browser_log.append(f"screenshot failed: {exc}")
        (ARTIFACTS / f"{prefix}-{n}.log").write_text(
            f"{page.url}\n{main_text(page)[:2000]}\n---\n" + "\n".join(page.browser_log))


def main_text(page, selector: str = "[data-testid='stMain']") -> str:
    """The text of the main area (or of `selector`), "" while a rerun has it away or the page is
    loading another (read in one step, never waiting)."""
    try:
        return page.evaluate("sel => (document.querySelector(sel) || {}).innerText || ''",
                             selector)
    except PlaywrightError:  # the page is loading another (a student following the teacher)
        return ""


def sign_in(page, key: str) -> str:
    """Open the sidebar's Teacher panel, submit `key`; returns the message shown."""
    sidebar = page.locator("[data-testid='stSidebar']")
    if not sidebar.is_visible():
        page.locator("[data-testid='stExpandSidebarButton']").click()
    panel = page.get_by_text(re.compile(r"^Teacher")).first
    if not page.get_by_label("Teacher key").count() or not page.get_by_label("Teacher key").is_visible():
        panel.click()
    msgs = page.locator("[data-testid='stSidebar'] [data-testid='stAlert']")
    before = msgs.all_inner_texts()
    field = page.get_by_label("Teacher key")
    field.fill(key)
    page.get_by_role("button", name="Sign in").click()
    wait_idle(page)
    assert wait_until(lambda: msgs.all_inner_texts() != before or "Lead the class" in
                      page.inner_text("[data-testid='stSidebar']"), timeout=90)
    alerts = msgs.all_inner_texts()
    return alerts[-1] if alerts else page.inner_text("[data-testid='stSidebar']")


def title(page) -> str:
    """The page's heading, read in one step: a rerun may remove it meanwhile."""
    return main_text(page, "[data-testid='stMain'] h1")


def shuffle_of(page) -> str | None:
    """`shuffle=` in the page's own address bar (Playwright's page.url is updated only between
    API calls); None while the page is loading another."""
    try:
        url = page.evaluate("location.href")
    except PlaywrightError:
        return None
    found = re.search(r"[?&]shuffle=([^&]+)", url)
    return found.group(1) if found else None


SIDEBAR = "[data-testid='stSidebar']"


def distinct(lines: list[str]) -> list[str]:
    """A log without its repeats (a disconnected page logs the same line every second)."""
    return [line for i, line in enumerate(lines) if line not in lines[:i]]


def shuffling_slider(page):
    """The sidebar's Shuffling slider's input."""
    return page.locator(f"{SIDEBAR} [data-testid='stSlider']").filter(
        has_text="Shuffling").locator("input").first


SLIDER_JS = """sel => {
    for (const s of document.querySelectorAll(sel + " [data-testid='stSlider']"))
        if (s.innerText.includes('Shuffling')) {
            const input = s.querySelector('input');
            return input ? input.value : null;
        }
    return null;
}"""


def slider_value(page) -> float | None:
    """The Shuffling slider's value, read in one step (None while it is not drawn)."""
    try:
        value = page.evaluate(SLIDER_JS, SIDEBAR)
    except PlaywrightError:
        return None
    return float(value) if value not in (None, "") else None


def test_a_wrong_key_is_refused_and_a_repeated_wrong_key_slowed(browser, server):
    ctx, page = open_page(browser, server.url + "/")
    try:
        first = sign_in(page, "not the key")
        assert "not the teacher key" in first and "again in 1 s" in first
        # each further wrong key waits twice as long; one sent inside the wait is refused
        # unchecked (which of the two a try meets depends on how fast this machine is)
        delays, refused = [1], False
        for attempt in range(3):
            message = sign_in(page, f"wrong key {attempt}")
            if "too many wrong keys" in message.lower():
                assert "wait" in message.lower()
                refused = True
                break
            delays.append(int(re.search(r"again in (\d+) s", message).group(1)))
        assert refused or delays == [1, 2, 4, 8], delays
        assert KEY not in page.url and "not the key" not in page.url  # never in a URL
        assert "Lead the class" not in page.inner_text("[data-testid='stSidebar']")
    finally:
        ctx.close()


def test_a_lecture_teacher_leads_students_follow_stop_explore_predict(browser, server, capsys):
    teacher_ctx, teacher = open_page(browser, server.url + "/")
    students = []
    try:
        signed = sign_in(teacher, KEY)
        assert "Lead the class" in signed or "Signed in as the teacher" in signed, signed
        assert wait_until(lambda: "Lead the class" in teacher.inner_text(
            "[data-testid='stSidebar']"), timeout=120)
        for _ in range(STUDENTS):
            students.append(open_page(browser, server.url + "/"))
        for _, page in students:
            assert wait_until(lambda: "Following the teacher" in main_text(page), timeout=60,
                              interval=0.5)
        assert wait_until(lambda: f"{STUDENTS} following" in teacher.inner_text(
            "[data-testid='stSidebar']"), timeout=120, interval=0.5)

        # a student's Stop leaves the class run training for everyone else. The teacher first
        # slows the class run to 10 steps/s (as one would, to talk over it; at 150/s its 3,000
        # steps end in 20 s, less than a loaded machine takes for a few clicks), then restarts
        # it (it may have ended while students joined); a restart keeps the pace
        slow_down(teacher)
        button(teacher, "Restart").click()
        assert wait_until(lambda: "· training" in main_text(teacher) and 0 < step_of(teacher) < 1500,
                          timeout=120, interval=0.3), main_text(teacher)[:600]
        _, ana = students[0]
        held = step_of(teacher)
        button(ana, "Stop").click()
        assert wait_until(lambda: "You left the shared run" in main_text(ana), timeout=60)
        # the run goes on: it trains past where Ana pressed Stop
        assert wait_until(lambda: step_of(teacher) > held + 20 and "· training" in
                          main_text(teacher), timeout=60, interval=0.5), (
            held, step_of(teacher), main_text(teacher)[:700])
        assert "· stopped" not in main_text(teacher)

        # the teacher changes page: every following student is brought along
        followers = students[1:]  # Ana has her own copy of the home page's run now
        with LoadMeter() as load:
            teacher.get_by_role("link", name=re.compile("Shuffling")).first.click()
            moved = time.monotonic()
            # what a student sees is the page's content (its title); the address bar follows it
            # too, though under load Streamlit's browser side may keep the old path a while
            assert wait_until(lambda: all(title(p).startswith("Shuffling") for _, p in followers),
                              timeout=120, interval=0.1), [(p.url, title(p)) for _, p in followers]
            took = time.monotonic() - moved
        with capsys.disabled():
            print(f"\n[class] {len(followers)} students followed the teacher's page change in "
                  f"{took:.2f} s (load factor {load.factor():.1f}); address bars on the page: "
                  f"{sum('/Shuffling' in p.url for _, p in followers)} of {len(followers)}")
        assert took <= 2.0 * load.factor() + 1.0

        # the teacher moves a slider (Shuffling, sorted -> fully shuffled): every follower's
        # page takes the same setting (its URL and its own slider), so the same shared run
        before = shuffle_of(teacher)
        slider = shuffling_slider(teacher)
        slider.focus()
        with LoadMeter() as load:
            slider.press("End")
            slid = time.monotonic()
            assert wait_until(lambda: shuffle_of(teacher) not in (None, before), timeout=60,
                              interval=0.1), (before, teacher.url)
            wanted = shuffle_of(teacher)
            assert wait_until(lambda: all(shuffle_of(p) == wanted for _, p in followers),
                              timeout=120, interval=0.1), (wanted, [p.url for _, p in followers])
            took = time.monotonic() - slid
        for i, (_, page) in enumerate(followers):  # the student's own slider: the teacher's value
            if not wait_until(lambda: slider_value(page) == float(wanted), timeout=60,
                              interval=0.2):
                page.screenshot(path=str(ARTIFACTS / f"class-follower-{i}-slider.png"))
                pytest.fail(f"follower {i}: Shuffling slider at {slider_value(page)}, not "
                            f"{wanted}; url {shuffle_of(page)!r}; title {title(page)!r}; sidebar "
                            f"{main_text(page, SIDEBAR)[:300]!r}; main {main_text(page)[:300]!r}; "
                            f"browser log {distinct(page.browser_log)[-12:]}")
        with capsys.disabled():
            print(f"[class] {len(followers)} students followed the teacher's slider "
                  f"(shuffle {before} -> {wanted}) in {took:.2f} s "
                  f"(load factor {load.factor():.1f})")
        assert took <= 2.0 * load.factor() + 1.0
        teacher.get_by_role("link", name=re.compile("^Home$")).first.click()
        # every follower is on the home page. No page error in any log, except Streamlit's
        # "Bad delta path index" (the race in streamlit_fixes, left at very high load), and a
        # page that met it mended itself: it reloaded (its log says so) and is here with the rest
        assert wait_until(lambda: all(title(p).startswith("BN Lab") for _, p in followers),
                          timeout=120, interval=0.2), [(p.url, title(p), main_text(p)[:200])
                                                        for _, p in followers]
        pages = [teacher] + [p for _, p in students]
        errors = [line for p in pages for line in p.browser_log if line.startswith("pageerror")
                  and "Bad delta path index" not in line]
        assert not errors, errors
        raced = [p for p in pages if any("Bad delta path index" in line for line in p.browser_log)]
        for p in raced:
            assert any("reloading it" in line for line in p.browser_log), p.browser_log[-8:]
        with capsys.disabled():
            print(f"[class] pages that met Streamlit's page-change race and reloaded: "
                  f"{len(raced)} of {len(pages)}")

        # a student who explores drives a run of their own
        _, ben = students[1]
        assert wait_until(lambda: "Explore on my own" in main_text(ben), timeout=120)
        button(ben, "Explore on my own").click()
        assert wait_until(lambda: "exploring on your own" in main_text(ben), timeout=120)
        assert wait_until(lambda: "Play" in main_text(ben) or "Pause" in main_text(ben),
                          timeout=120)
        # at 10 steps/s, as the teacher's: at 150/s a loaded machine may finish the run's
        # 3,000 steps before Ben's Pause arrives
        slow_down(ben)
        if button(ben, "Play").count():
            button(ben, "Play").click()
        assert wait_until(lambda: "· training" in main_text(ben), timeout=60, interval=0.5)
        button(ben, "Pause").click()
        assert wait_until(lambda: "· paused" in main_text(ben), timeout=120)
        assert "· paused" not in main_text(teacher)  # Ben's Pause was his own run's

        # a prediction round: question, answers, start, reveal with the measured answer
        side = "[data-testid='stSidebar']"
        teacher.get_by_role("button", name="Ask").click()
        wait_idle(teacher)
        asked = [p for _, p in students[2:]]
        for page in asked:
            # read in one step: the page reruns as the round opens, its text is away meanwhile
            assert wait_until(lambda: "Predict:" in (t := main_text(page)) and
                              "Answer first" in t, timeout=60, interval=0.3), (
                page.url, main_text(page)[:500])
        for i, page in enumerate(asked):
            page.get_by_text(["the plain net", "the BN net", "about the same time"][i % 3],
                             exact=True).click()
            page.get_by_role("button", name="Submit my answer").click()
            assert wait_until(lambda: "Thanks" in main_text(page) or "Answer first" not in
                              main_text(page), timeout=120)
        assert wait_until(lambda: f"{len(asked)} answered" in teacher.inner_text(side),
                          timeout=120, interval=0.5)
        teacher.get_by_role("button", name="Start run").click()
        wait_idle(teacher)
        if button(teacher, "Play").count():
            button(teacher, "Play").click()
        teacher.get_by_role("button", name="Reveal").click()
        for page in asked:
            # one read has it all: the page reruns as the round is revealed
            seen = []
            assert wait_until(lambda: "The class predicted" in (t := main_text(page)) and
                              "This run measured" in t and not seen.append(t) and
                              re.search(r"the plain net: 1 \(33%\)", t), timeout=120,
                              interval=0.3), seen[-1:]
        teacher.screenshot(path=str(ARTIFACTS / "class-teacher.png"))
        asked[0].screenshot(path=str(ARTIFACTS / "class-student.png"))
    except Exception:
        dump_pages([teacher] + [p for _, p in students], "class-failed")
        raise
    finally:
        for ctx, _ in students:
            ctx.close()
        teacher_ctx.close()
