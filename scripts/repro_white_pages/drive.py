import json, os, subprocess, sys, time, socket

HERE = os.path.dirname(os.path.abspath(__file__))
from playwright.sync_api import sync_playwright
port = int(sys.argv[1]); n = int(sys.argv[2]); toggles = int(sys.argv[3])
def setp(p): json.dump({"page": p}, open(HERE + "/target.json.tmp", "w")); os.replace(HERE + "/target.json.tmp", HERE + "/target.json")
setp("a")
env = dict(os.environ)
srv = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"], cwd=HERE, env=env, stdout=open(HERE + "/server.log", "w"), stderr=subprocess.STDOUT)
errors = []; logs = []; dumps = []
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
def summ(payload):
    try:
        if isinstance(payload, str): return "text"
        m = ForwardMsg.FromString(payload); t = m.WhichOneof("type")
        md = m.metadata
        if t == "new_session":
            return f"{time.time():.2f} NEW page={m.new_session.page_script_hash[:6]} frag={[f[-6:] for f in md.run.fragment_ids]} run={md.run.script_run_id[:6]}"
        if t == "delta":
            return f"{time.time():.2f} delta {list(md.delta_path)} {m.delta.WhichOneof('type')} frag={m.delta.fragment_id[-6:]} run={md.run.script_run_id[:6]}"
        if t == "ref_hash": return f"{time.time():.2f} REF {m.ref_hash[:6]}"
        return f"{time.time():.2f} {t} run={md.run.script_run_id[:6]} " + (str(m.script_finished) if t=="script_finished" else "")
    except Exception as e:
        return f"undecodable {e}"

try:
    for _ in range(100):
        try: socket.create_connection(("127.0.0.1", port), 1).close(); break
        except OSError: time.sleep(0.3)
    with sync_playwright() as pw:
        br = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        pages = []
        for i in range(n):
            pg = br.new_context(viewport={"width": 1000, "height": 700}).new_page()
            pg.on("pageerror", lambda e, i=i: (errors.append((i, str(e)[:120])), dumps.append((i, list(logs[i][-40:])))))
            logs.append([])
            def onws(ws, i=i):
                ws.on("framereceived", lambda payload, i=i: logs[i].append(summ(payload)))
            pg.on("websocket", onws)
            pg.goto(f"http://127.0.0.1:{port}/", wait_until="commit", timeout=120000)
            pages.append(pg)
        for pg in pages:
            pg.wait_for_selector("text=Page a", timeout=180000)
        cur = "a"
        for t in range(toggles):
            cur = "b" if cur == "a" else "a"
            setp(cur)
            t0 = time.time()
            ok = set()
            while time.time() - t0 < 20 and len(ok) < n:
                for i, pg in enumerate(pages):
                    if i not in ok:
                        try:
                            if pg.locator(f"h1:has-text('Page {cur}')").count(): ok.add(i)
                        except Exception: pass
                pages[0].wait_for_timeout(200)
            print(f"toggle {t} -> {cur}: {len(ok)}/{n} in {time.time()-t0:.1f}s, errors so far {len(errors)}", flush=True)
        br.close()
finally:
    srv.terminate(); srv.wait()
print("ERRORS", len(errors), errors[:5])
for i, d in dumps[:2]:
    print("=== browser", i); print("\n".join(d))
