"""How long following the teacher takes: a teacher and N students (each their own browser
context) on a fresh BN Lab server; the teacher changes page and moves a slider, and the time
until every following student's browser shows it is printed.

    python scripts/bench_follow.py 1 2 5 [--repeats 3]

A page change counts when each student's page title is the new page's; a slider change when
each student's address bar (`location.href`) has the teacher's value. All browsers run on this
machine, so with many students the figure is mostly their rendering (a class has a laptop
each); the lecture test (tests/test_browser_class.py) asserts a bound scaled by the load."""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
import test_browser_class as lecture  # noqa: E402
from test_browser_class import shuffle_of, shuffling_slider, title  # noqa: E402
from browser_server import Server, launch_browser  # noqa: E402
from conftest import wait_until  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402


def one_class(browser, url: str, students: int, repeats: int) -> dict:
    teacher_ctx, teacher = lecture.open_page(browser, url + "/")
    lecture.sign_in(teacher, lecture.KEY)
    pages = [lecture.open_page(browser, url + "/") for _ in range(students)]
    for _, page in pages:
        assert wait_until(lambda: "Following the teacher" in lecture.main_text(page),
                          timeout=60, interval=0.3)
    times = {"page": [], "slider": []}
    for r in range(repeats):
        link, heading = ("Shuffling", "Shuffling") if r % 2 == 0 else ("^Home$", "BN Lab")
        teacher.get_by_role("link", name=re.compile(link)).first.click()
        start = time.monotonic()
        assert wait_until(lambda: all(title(p).startswith(heading) for _, p in pages),
                          timeout=60, interval=0.05)
        times["page"].append(time.monotonic() - start)
        teacher.wait_for_timeout(3000)
    if repeats % 2 == 0:
        teacher.get_by_role("link", name=re.compile("Shuffling")).first.click()
        assert wait_until(lambda: all(title(p).startswith("Shuffling") for _, p in pages),
                          timeout=60, interval=0.1)
        teacher.wait_for_timeout(3000)
    slider = shuffling_slider(teacher)
    for r in range(repeats):
        before = shuffle_of(teacher)
        slider.focus()
        slider.press("End" if r % 2 == 0 else "Home")
        start = time.monotonic()
        assert wait_until(lambda: shuffle_of(teacher) != before, timeout=30, interval=0.05)
        wanted = shuffle_of(teacher)
        assert wait_until(lambda: all(shuffle_of(p) == wanted for _, p in pages), timeout=60,
                          interval=0.05), (before, wanted, [shuffle_of(p) for _, p in pages])
        times["slider"].append(time.monotonic() - start)
        teacher.wait_for_timeout(3000)
    for ctx, _ in pages:
        ctx.close()
    teacher_ctx.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("students", nargs="*", type=int, default=[1, 2, 5])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print("| students | page change s (each) | slider s (each) |")
    print("|---|---|---|")
    for n in args.students:
        srv = Server(env={"BNLAB_TEACHER_KEY": lecture.KEY}, log_name="bench-follow.log")
        try:
            with sync_playwright() as pw:
                browser = launch_browser(pw)
                times = one_class(browser, srv.url, n, args.repeats)
                browser.close()
        finally:
            srv.stop()
        print(f"| {n} | {', '.join(f'{t:.2f}' for t in times['page'])} | "
              f"{', '.join(f'{t:.2f}' for t in times['slider'])} |", flush=True)


if __name__ == "__main__":
    main()
