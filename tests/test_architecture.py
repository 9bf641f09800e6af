import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_core_imports_nothing_from_flask():
    code = (
        "import sys, pkgutil, importlib, pointsapp.points as p\n"
        "for m in pkgutil.walk_packages(p.__path__, 'pointsapp.points.'):\n"
        "    importlib.import_module(m.name)\n"
        "web = ('flask', 'werkzeug', 'jinja2', 'wtforms', 'itsdangerous')\n"
        "bad = sorted(k for k in sys.modules if k.split('.')[0] in web or k.startswith('flask_'))\n"
        "print(bad); sys.exit(1 if bad else 0)"
    )
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


# Web packages the core must never import, at module level or inside a function.
WEB_PACKAGES = (
    "flask",
    "flask_babel",
    "flask_login",
    "flask_wtf",
    "flask_limiter",
    "flask_migrate",
    "flask_sqlalchemy",
    "werkzeug",
    "jinja2",
    "wtforms",
    "itsdangerous",
    "gunicorn",
)
FEATURES = ("admin", "staff", "villagers", "reports", "shop", "web", "cli", "extensions", "config")


def _imports(path: Path, module: str) -> list[tuple[str, int, bool]]:
    """(imported module or name, line, needed at run time) for every import in a file, relative ones
    resolved. Imports inside functions are needed at run time too: a cycle hidden in a function is still a
    cycle. Only imports under ``if TYPE_CHECKING:`` are not."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    typing_only = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only |= {id(sub) for stmt in node.body for sub in ast.walk(stmt)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno, id(node) not in typing_only) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            out += [(f"{base}.{a.name}", node.lineno, id(node) not in typing_only) for a in node.names]
    return out


def _modules() -> dict[str, Path]:
    mods = {}
    for path in (REPO / "pointsapp").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        mods[".".join(parts)] = path
    return mods


def test_core_source_names_no_web_package_or_feature():
    """Also imports inside functions, which the runtime check above cannot see."""
    bad = []
    for module, path in _modules().items():
        if not module.startswith("pointsapp.points"):
            continue
        for name, line, _run_time in _imports(path, module):
            root = name.split(".")[0]
            if root in WEB_PACKAGES or (
                root == "pointsapp" and name.split(".")[1:2] and name.split(".")[1] in FEATURES
            ):
                bad.append(f"{path.relative_to(REPO)}:{line} imports {name}")
    assert not bad, "the core must not import web packages or features:\n" + "\n".join(bad)


def import_graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the modules of pointsapp it imports at run time, at module level or inside a function.
    A name imported from a package's ``__init__`` is an edge to the package, also from a module inside it
    (``from . import bp`` in a view that ``__init__`` imports is a cycle); importing a package's submodule
    is an edge to the submodule only."""
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for module, path in mods.items():
        for name, _line, run_time in _imports(path, module):
            if not run_time:
                continue
            while name not in mods and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in mods and name != module:
                graph[module].add(name)
    return graph


def test_no_import_cycles_between_modules():
    """Imports form no cycle, counting those inside functions (a deferred import only hides a cycle).
    A blueprint lives in its own module (``blueprint.py``) that the view modules import, rather than in
    ``routes`` which imports the views; what two modules both need lives in a third they both import."""
    cycles = _strongly_connected(import_graph(_modules()))
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_check_finds_a_cycle():
    assert _strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _strongly_connected({"a": {"b"}, "b": set()}) == []


def test_the_import_graph_sees_imports_inside_functions_and_from_a_package(tmp_path):
    """The two ways the old cycles hid: ``pack`` imported ``pdf`` inside a function, and a view took
    ``bp`` from the package that imports the view. An import under TYPE_CHECKING is not a cycle."""
    pkg = tmp_path / "pointsapp" / "feature"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .views import page\nbp = object()\n")
    (pkg / "views.py").write_text("from . import bp\n\ndef page():\n    return bp\n")
    (pkg / "pack.py").write_text("def build():\n    from .pdf import render\n    return render()\n")
    (pkg / "pdf.py").write_text("from .pack import build\n\ndef render():\n    return build\n")
    (pkg / "typed.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .hints import Hint\n")
    (pkg / "hints.py").write_text("from .typed import TYPE_CHECKING as Hint\n")
    mods = {f"pointsapp.feature.{p.stem}" if p.stem != "__init__" else "pointsapp.feature": p for p in pkg.glob("*.py")}
    assert _strongly_connected(import_graph(mods)) == [
        ["pointsapp.feature", "pointsapp.feature.views"],
        ["pointsapp.feature.pack", "pointsapp.feature.pdf"],
    ]
