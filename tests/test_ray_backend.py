"""The Ray backend on a real local Ray cluster (a head node and a second node on this machine):
runs are actors named by their run key, shared by every server; a server that stops leaves its
runs to the others; a lost actor fails its run with a reason; idle actors go away.

CI (.ci/run) starts the cluster and sets RAY_ADDRESS; without it, this module starts its own
two-node cluster for the session and stops it afterwards."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

ray = pytest.importorskip("ray") if not os.environ.get("BNLAB_REQUIRE_RAY") else __import__("ray")

from browser_server import (ROOT, Server, browser_available, free_port, launch_browser,  # noqa: E402
                            our_tracebacks, wait_idle)
from conftest import toy_config, wait_until  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.ray]

STEP = re.compile(r"step ([\d,]+) of")
STEP_OF_TOTAL = re.compile(r"step [\d,]+ of ([\d,]+)")


def _ray_cli() -> str:
    return shutil.which("ray") or os.path.join(os.path.dirname(sys.executable), "ray")


@pytest.fixture(scope="module")
def cluster():
    """RAY_ADDRESS of a running cluster with two nodes."""
    address = os.environ.get("RAY_ADDRESS")
    started = False
    if not address:
        port = free_port()
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
        subprocess.run([_ray_cli(), "start", "--head", f"--port={port}", "--num-cpus=1",
                        "--include-dashboard=false", "--disable-usage-stats"],
                       check=True, capture_output=True, env=env, timeout=180)
        address = f"127.0.0.1:{port}"
        subprocess.run([_ray_cli(), "start", f"--address={address}", "--num-cpus=1"],
                       check=True, capture_output=True, env=env, timeout=180)
        started = True
    os.environ["RAY_ADDRESS"] = address
    yield address
    if ray.is_initialized():
        ray.shutdown()
    if started:
        subprocess.run([_ray_cli(), "stop", "--force"], capture_output=True, timeout=120)
        del os.environ["RAY_ADDRESS"]


@pytest.fixture(scope="module")
def backend(cluster):
    from bn_core.engine.backends.ray_backend import RayBackend

    b = RayBackend(address=cluster)
    yield b
    b.shutdown()


def _named_actors() -> list[str]:
    from ray.util import list_named_actors

    return sorted(a["name"] for a in list_named_actors(all_namespaces=True)
                  if a.get("namespace") == "bnlab" and a["name"].startswith("bnlab-run-"))


def test_the_cluster_has_two_nodes(backend):
    assert len([n for n in ray.nodes() if n["Alive"]]) >= 2
    assert len(backend.rows()) >= 2


def test_a_run_trains_as_an_actor_named_by_its_key(backend):
    from bn_core.engine.backends.ray_backend import actor_name
    from bn_core.engine.run import Run

    config = toy_config(seed=31, steps=400, pace=200.0)
    run = Run(config, backend=backend).start()
    assert wait_until(lambda: run.snapshot().step >= 50, timeout=90)
    assert actor_name(run.key) in _named_actors()
    assert run.wait(60) and run.status == "finished"
    snap = run.snapshot()
    assert snap.step == 400 and {v.status for v in snap.nets.values()} == {"finished"}
    assert snap.nets["bn"].evals["train_acc"][-1] > 0.7
    where = backend.where(run)
    assert where and where["pid"] != os.getpid()  # trained in the actor, not here


def test_the_same_config_from_a_second_server_is_the_same_run(backend, cluster):
    """A second driver process (another server) attaches to the run the first one started."""
    from bn_core.engine.run import Run

    config = toy_config(seed=32, steps=100_000, pace=100.0)
    run = Run(config, backend=backend).start()
    assert wait_until(lambda: run.snapshot().step >= 20, timeout=90)
    script = (
        "import sys, time, json\n"
        "from bn_core.engine.backends.ray_backend import RayBackend\n"
        "from bn_core.engine.run import Run\n"
        "from bn_core.config import RunConfig\n"
        f"config = RunConfig.from_dict(json.loads({config.key()!r}))\n"
        f"b = RayBackend(address={cluster!r})\n"
        "run = Run(config, backend=b)\n"
        "b.attach(run)\n"
        "deadline = time.time() + 240\n"
        "while time.time() < deadline and run.snapshot().step < 1: time.sleep(0.2)\n"
        "s = run.snapshot(); print('SEEN', s.status, s.step, s.attempt, flush=True)\n"
        "b.shutdown()\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                         text=True, timeout=360, env={**os.environ, "PYTHONPATH": str(ROOT)})
    seen = [line for line in out.stdout.splitlines() if line.startswith("SEEN")]
    assert seen, out.stderr[-2000:]
    _, status, step, attempt = seen[0].split()
    assert status == "running" and int(step) > 0 and int(attempt) == run.attempt
    run.stop("done")
    assert wait_until(lambda: run.status == "stopped")


def test_pause_resume_and_last_command_wins(backend):
    from bn_core.engine.run import Run

    run = Run(toy_config(seed=33, steps=100_000, pace=150.0), backend=backend).start()
    try:
        assert wait_until(lambda: run.status == "running" and run.snapshot().step > 10,
                          timeout=90)
        run.pause()
        run.resume()
        run.pause()  # the last command wins
        assert wait_until(lambda: run.status == "paused" and held_still(run), timeout=90), \
            run.status
        run.resume()
        held = run.snapshot().step
        assert wait_until(lambda: run.snapshot().step > held + 10, timeout=90)
    finally:
        run.stop()  # a failure here must not leave a paced actor holding the cluster's CPU


def test_an_actor_applies_one_servers_commands_in_the_order_sent(cluster):
    """Ray may run a threaded actor's calls out of order; the actor puts them back in the
    order the server numbered them, and a command whose predecessor never comes waits only
    REORDER_WAIT."""
    from bn_core.engine.backends import ray_backend
    from bn_core.engine.backends.ray_backend import RunActorImpl

    impl = RunActorImpl("k", toy_config(seed=37, steps=100_000), 64)
    try:
        impl.command({"op": "start", "config": impl.config, "key": "k", "pace": 150.0,
                      "sender": "s", "order": 1})
        assert wait_until(lambda: impl.record.status == "running", timeout=90)
        # sent: pause (2), resume (3); arrived: resume first. In arrival order the run would
        # end paused; in the order sent it trains on.
        impl.command({"op": "resume", "sender": "s", "order": 3})
        assert impl.record.status == "running" and impl.held == {"s": {3: impl.held["s"][3]}}
        impl.command({"op": "pause", "sender": "s", "order": 2})
        assert impl.record.status == "running" and not impl.held
        step = impl.record.step
        assert wait_until(lambda: impl.record.step > step + 10, timeout=90)
        # a command whose predecessor (4) is lost is applied once it has waited
        impl.command({"op": "pause", "sender": "s", "order": 5})
        assert impl.record.status == "running"
        assert wait_until(lambda: impl.poll(-1, impl.record.attempt) and
                          impl.record.status == "paused",
                          timeout=ray_backend.REORDER_WAIT * 20, interval=0.2)
        impl.command({"op": "resume", "sender": "s", "order": 4})  # late: dropped
        assert impl.record.status == "paused" and not impl.held
    finally:
        impl.close()


def test_one_servers_idle_pause_waits_while_another_servers_viewers_watch():
    """A class behind a load balancer: the last viewer on server A moving on pauses the shared
    run only if no other server has polled it lately with viewers of its own; a person's Pause
    is applied at once. (The actor's logic, without Ray.)"""
    from bn_core.engine.backends.ray_backend import RunActorImpl

    impl = RunActorImpl("k", toy_config(seed=38, steps=100_000), 64)
    try:
        impl.command({"op": "start", "config": impl.config, "key": "k", "pace": 150.0})
        assert wait_until(lambda: impl.record.status == "running", timeout=90)
        impl.poll(-1, impl.record.attempt, "A", 0)
        impl.poll(-1, impl.record.attempt, "B", 3)  # three students watch on server B
        impl.command({"op": "pause", "by": "idle", "server": "A"})
        assert impl.record.status == "running"
        step = impl.record.step
        assert wait_until(lambda: impl.record.step > step + 10, timeout=90)  # it trains on
        impl.command({"op": "pause", "by": "viewer", "server": "A"})  # a person's Pause
        assert impl.record.status == "paused"
        impl.command({"op": "resume", "server": "A"})
        impl.poll(-1, impl.record.attempt, "B", 0)  # B's students moved on too
        impl.command({"op": "pause", "by": "idle", "server": "A"})
        assert impl.record.status == "paused"
        # B's own idle pause is not held back by B's old poll either
        impl.command({"op": "resume", "server": "B"})
        impl.poll(-1, impl.record.attempt, "B", 2)
        impl.command({"op": "pause", "by": "idle", "server": "B"})
        assert impl.record.status == "paused"
    finally:
        impl.close()


def held_still(run, seconds: float = 1.0) -> bool:
    """Whether the run's step stays the same for `seconds`."""
    step = run.snapshot().step
    return not wait_until(lambda: run.snapshot().step != step, timeout=seconds)


def test_a_lost_actor_fails_its_run_with_a_reason_and_others_go_on(backend):
    from bn_core.engine.backends.ray_backend import actor_name
    from bn_core.engine.run import Run

    victim = Run(toy_config(seed=34, steps=100_000, pace=100.0), backend=backend).start()
    other = Run(toy_config(seed=35, steps=100_000, pace=100.0), backend=backend).start()
    assert wait_until(lambda: victim.snapshot().step > 5 and other.snapshot().step > 5,
                      timeout=120)
    ray.kill(ray.get_actor(actor_name(victim.key), namespace="bnlab"), no_restart=True)
    assert wait_until(lambda: victim.status == "failed", timeout=90)
    assert "went away" in victim.snapshot().message
    held = other.snapshot().step
    assert wait_until(lambda: other.snapshot().step > held + 20, timeout=90)
    other.stop()


def test_an_actor_no_server_polls_goes_away(cluster):
    from bn_core.engine.backends.ray_backend import RunActorImpl

    impl = RunActorImpl("k", toy_config(seed=36), 64, idle_seconds=0.2)
    try:
        assert not impl.idle()
        assert wait_until(impl.idle, timeout=30)
        impl.poll(-1, 0)
        assert not impl.idle()  # a poll is a sign of life
    finally:
        impl.close()
    assert not impl.thread.is_alive()


def test_an_ended_runs_actor_exits_and_a_restart_anywhere_is_mirrored_again(backend,
                                                                            monkeypatch):
    """An actor holds its CPU reservation while it lives: once its run has ended it exits
    (after ENDED_LINGER), the servers keep showing the record, and a restart from one server
    makes a new actor that the other server finds and mirrors."""
    from bn_core.engine.backends import ray_backend
    from bn_core.engine.run import Run, run_key

    monkeypatch.setattr(ray_backend, "ENDED_LINGER", 1.0)
    config = toy_config(seed=37, steps=150, pace=30.0)
    name = ray_backend.actor_name(run_key(config))
    run = Run(config, backend=backend).start()
    other = ray_backend.RayBackend()  # a second server
    try:
        mirror = Run(config, backend=other)
        other.attach(mirror)
        assert run.wait(120) and run.status == "finished"
        assert wait_until(lambda: mirror.status == "finished", timeout=60), mirror.status
        assert wait_until(lambda: name not in _named_actors(), timeout=60)  # its CPU is free
        assert wait_until(lambda: run.key in backend._ended and run.key in other._ended,
                          timeout=30)
        for shown in (run, mirror):  # both servers still show the ended run, not a lost one
            snap = shown.snapshot()
            assert shown.status == "finished" and snap.step == 150, (shown.status, snap.step)
            assert "went away" not in (snap.message or "")
        ended_attempt = mirror.attempt
        run.start()  # Restart, on the first server
        assert wait_until(lambda: name in _named_actors(), timeout=60)
        assert wait_until(lambda: mirror.attempt != ended_attempt and mirror.snapshot().step > 0,
                          timeout=90), (mirror.attempt, mirror.status)
        assert mirror.attempt == run.attempt  # the second server mirrors the new actor
        assert run.wait(120) and run.status == "finished" and run.snapshot().step == 150
    finally:
        other.shutdown()
        run.stop()


def test_an_unpaced_run_reserves_a_share_of_a_core_and_a_paced_one_what_its_pace_costs():
    from bn_core.engine.backends.ray_backend import UNPACED_CPU, cpu_demand

    config = toy_config()
    assert cpu_demand(config, 0.0) == UNPACED_CPU < 1.0
    assert 0.01 <= cpu_demand(config, 10.0) < cpu_demand(config, 100.0) <= 1.0


@pytest.mark.browser
@pytest.mark.skipif(not browser_available(), reason="Chromium or Playwright is missing")
def test_two_servers_show_one_run_and_a_stopped_server_leaves_it_to_the_other(cluster):
    """The classroom deployment: two Streamlit servers on one Ray cluster; the home page on
    both shows one run (one actor); stopping the first server leaves the run to the second."""
    from playwright.sync_api import sync_playwright

    env = {"BNLAB_BACKEND": "ray", "RAY_ADDRESS": cluster}
    first = Server(env=env, log_name="server-ray-1.log")
    second = Server(env=env, log_name="server-ray-2.log")
    before = set(_named_actors())
    try:
        with sync_playwright() as pw:
            browser = launch_browser(pw)
            pages = []
            for server in (first, second):
                ctx = browser.new_context(viewport={"width": 1280, "height": 720})
                page = ctx.new_page()
                page.goto(server.url + "/", wait_until="commit", timeout=180_000)
                wait_idle(page, timeout_ms=120_000)
                pages.append(page)

            def step_of(page) -> int:
                m = STEP.search(page.inner_text("[data-testid='stMain']"))
                return int(m.group(1).replace(",", "")) if m else -1

            def seen():
                return [(step_of(p), p.inner_text("[data-testid='stMain']")[:300]) for p in pages]

            assert wait_until(lambda: min(step_of(p) for p in pages) > 0, timeout=120,
                              interval=0.5), seen()
            new = set(_named_actors()) - before
            assert len(new) == 1, new  # both servers: one run, one actor
            # the same run: both pages show the same step, give or take a refresh
            assert wait_until(lambda: abs(step_of(pages[0]) - step_of(pages[1])) < 400,
                              timeout=120, interval=0.5), seen()
            first.stop()
            held = step_of(pages[1])
            total = int(STEP_OF_TOTAL.search(pages[1].inner_text("[data-testid='stMain']")).group(1)
                        .replace(",", ""))
            # the second server goes on showing it train (or reach its end)
            assert wait_until(lambda: step_of(pages[1]) > held + 50 or step_of(pages[1]) == total,
                              timeout=120, interval=0.5), (held, seen()[1],
                                                           second.log_text()[-1500:])
            browser.close()
    finally:
        for server in (first, second):
            if server.proc.poll() is None:
                server.stop()
    for server in (first, second):
        assert not our_tracebacks(server.log_text())
