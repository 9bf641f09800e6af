import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_core_imports_nothing_from_flask():
    code = ("import sys, pkgutil, importlib, pointsapp.points as p\n"
            "for m in pkgutil.walk_packages(p.__path__, 'pointsapp.points.'):\n"
            "    importlib.import_module(m.name)\n"
            "bad = sorted(k for k in sys.modules if k == 'flask' or k.startswith(('flask.', 'flask_')))\n"
            "print(bad); sys.exit(1 if bad else 0)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 0, res.stdout + res.stderr


def test_no_pyplot_and_no_legacy_query_in_server_code():
    for path in (REPO / "pointsapp").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "matplotlib.pyplot" not in text and "from matplotlib import pyplot" not in text, path
        assert ".query.filter" not in text and ".query.get(" not in text, path


def test_templates_load_nothing_from_outside():
    for path in (REPO / "pointsapp").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, path
