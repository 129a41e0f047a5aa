"""The web server does not import torch for the pages that only draw what the workers trained.

Training runs in worker processes (or Ray actors); a page that only reads run records and draws
them should not pay torch's import (about 1-2 s and 180 MiB of the web server's start). Pages
that compute with a net themselves (replaying a net on a shifted test set, the small-batch and
CNN measurements) import it when they need it. Each page's top-level imports are run in a fresh
interpreter, as Streamlit's first run of that page would.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TORCH_FREE = ["app.py", "pages/1_Figure_1_live.py", "pages/3_Internal_covariate_shift.py",
              "pages/4_Gamma_and_beta.py", "pages/7_Inside_the_BN_layer.py",
              "pages/8_Does_BN_reduce_ICS.py", "pages/10_Which_part_of_BN.py",
              "pages/13_Your_own_data.py", "pages/99_Server_status.py"]

PROBE = """
import ast, json, sys
tree = ast.parse(open(sys.argv[1], encoding="utf-8").read())
for node in tree.body:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        exec(compile(ast.Module([node], []), sys.argv[1], "exec"), {})
print(json.dumps(sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))[:5]))
"""


def _fresh_python(*args: str) -> str:
    """The last line a fresh interpreter prints running `python -c *args` (no inherited env)."""
    out = subprocess.run([sys.executable, "-c", *args], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1]


def _modules_after_imports(page: str) -> list[str]:
    return json.loads(_fresh_python(PROBE, str(ROOT / page)))


@pytest.mark.parametrize("page", TORCH_FREE)
def test_a_drawing_page_does_not_import_torch(page):
    assert _modules_after_imports(page) == []


def test_the_probe_sees_torch_where_a_page_does_import_it():
    """The check can fail: a page that replays nets (Covariate shift) does import torch."""
    assert "torch" in _modules_after_imports("pages/2_Covariate_shift.py")


def _torch_threads(first: str) -> int:
    return int(_fresh_python(f"{first}\nimport torch\nprint(torch.get_num_threads())"))


def test_the_web_server_computes_with_one_torch_thread():
    """A page that replays a recorded net does so on one torch thread: with a thread per core a
    replayed score waited for a second thread the training workers held off the other core
    (37 ms instead of 1.45 ms in a live server, docs/benchmarks.md section 14)."""
    assert _torch_threads("import bnlab_ui") == 1
    if (os.cpu_count() or 1) > 1:  # the check can fail: torch's own default is a thread a core
        assert _torch_threads("") > 1
