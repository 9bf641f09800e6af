"""A worker that served only public pages never imported matplotlib, pandas or openpyxl: they load
where a chart or a spreadsheet is made (worker memory: see benchmarks/bench_http.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO

SCRIPT = r"""
import json, sys
from pointsapp import create_app
app = create_app({"TESTING": True, "POINTSAPP_DATABASE_URL": sys.argv[1], "POINTSAPP_SECRET_KEY": "t",
                  "RATELIMIT_ENABLED": False})
before = sorted(m for m in ("matplotlib", "pandas", "openpyxl") if m in sys.modules)
client = app.test_client()
status = [client.get(u).status_code for u in sys.argv[2:]]
print(json.dumps({"before": before, "status": status,
                  "after": sorted(m for m in ("matplotlib", "pandas", "openpyxl") if m in sys.modules)}))
"""


def test_public_pages_do_not_import_matplotlib_or_pandas(app, scene, db_url, tmp_path):
    urls = [f"/h/{t}" for t in scene.tokens] + [
        "/board",
        "/board?show=people",
        "/notice",
        "/rules",
        "/board?lang=en",
        "/shop",
    ]
    env = dict(os.environ, POINTSAPP_INSTANCE_PATH=str(tmp_path / "sub"))
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, db_url, *urls], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["status"] == [200] * len(urls)
    assert got["before"] == [] and got["after"] == []
