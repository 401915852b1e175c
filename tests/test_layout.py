"""The package layout: imports flow one way, with no circle, lazy or not."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("tuner", "explain")
#: deprecated re-exports of moved modules (kept for one release); they point into tuner.mc
ALIASES = {"tuner.tune", "tuner.tuneconfig", "tuner.generation", "tuner.objective", "tuner.refdata",
           "tuner.search_report", "tuner.study", "tuner.analyses"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The project module an import names (``a.b.c`` may be a name inside module ``a.b``)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph() -> dict[str, set[str]]:
    """Every import statement of the project, at module level, in functions and under
    ``TYPE_CHECKING`` alike: module -> project modules it imports."""
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        pkg = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                names = [f"{base}.{a.name}" for a in node.names]
            for n in names:
                target = _resolve(n, modules)
                if target is not None and target != mod:
                    graph[mod].add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return [*stack[stack.index(n):], n]
            if n not in state and (c := visit(n)):
                return c
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (c := visit(m)):
            return c
    return None


def test_no_import_circle() -> None:
    graph = import_graph()
    assert len(graph) > 40
    assert _cycle(graph) is None, f"import circle: {' -> '.join(_cycle(graph) or [])}"


def test_the_walk_finds_circles() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_optimiser_never_imports_the_generator_wing() -> None:
    bad = {m: sorted(t for t in ts if t.startswith("tuner.mc"))
           for m, ts in import_graph().items()
           if m.startswith("tuner") and not m.startswith("tuner.mc") and m not in ALIASES}
    assert not {m: t for m, t in bad.items() if t}


def test_an_evaluation_worker_loads_neither_torch_nor_matplotlib() -> None:
    """A worker process unpickles the evaluation function: it imports only what generation needs."""
    import pickle

    from tuner.mc.workflow import Evaluator  # the parent's side

    blob = pickle.dumps((Evaluator.submit.__globals__["evaluate_point"], 1))
    code = ("import pickle, sys\n"
            "pickle.loads(sys.stdin.buffer.read())\n"
            "bad = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'botorch', 'matplotlib'})\n"
            "assert not bad, bad\n")
    out = subprocess.run([sys.executable, "-c", code], input=blob, capture_output=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:].decode()


def test_jet_generation_does_not_load_botorch() -> None:
    """Every module jet generation uses, its lazy imports included, in a fresh interpreter."""
    graph = import_graph()
    needed, todo = set(), ["explain.jets"]
    while todo:
        m = todo.pop()
        if m not in needed:
            needed.add(m)
            todo.extend(graph[m])
    assert "tuner.mc.generators.pythia" in needed
    code = ("import sys\n" + "".join(f"import {m}\n" for m in sorted(needed)) +
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('botorch', 'gpytorch'))\n"
            "assert not bad, bad\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]


def test_importing_changes_no_matplotlib_state() -> None:
    code = ("import matplotlib, pkgutil, importlib\n"
            "before = (matplotlib.get_backend(), dict(matplotlib.rcParams))\n"
            "import tuner, explain\n"
            "for pkg in (tuner, explain):\n"
            "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
            f"        if m.name not in {sorted(ALIASES)!r}:\n"
            "            importlib.import_module(m.name)\n"
            "after = (matplotlib.get_backend(), dict(matplotlib.rcParams))\n"
            "assert before[0] == after[0], (before[0], after[0])\n"
            "diff = [k for k in before[1] if before[1][k] != after[1][k]]\n"
            "assert not diff, diff\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={"PATH": "/usr/bin:/bin", "MPLBACKEND": "", "HOME": "/tmp"})
    assert out.returncode == 0, out.stderr[-2000:]


def test_old_paths_still_import_with_a_deprecation_warning() -> None:
    import importlib
    import warnings

    for old in sorted(ALIASES):
        sys.modules.pop(old, None)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            mod = importlib.import_module(old)
        assert mod.__all__, old
        assert any(issubclass(x.category, DeprecationWarning) for x in w), old
