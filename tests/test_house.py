"""The house (issue 15): the package tree is the pipeline, and it stays that way.

Stage packages import only stages before them, no two modules import each other (directly or
round a circle), and each package face names exports that exist without importing heavy
libraries.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "qrcheck"
#: the pipeline's order: a stage may import the floor (modules directly under qrcheck/) and
#: the stages before it, never one after it; the two shells last (`qrcheck serve` starts the
#: web application, so the command line comes after it)
STAGES = ("catalog", "printing", "vision", "grade", "links", "board", "reports", "web", "cli")
FACES = ("catalog", "printing", "vision", "grade", "links", "board", "reports", "cli")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from package import module` imports that module; `from module import name`
                # the module
                targets = [
                    f"{node.module}.{a.name}"
                    if f"{node.module}.{a.name}" in modules
                    else node.module
                    for a in node.names
                ]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target not in (name, "qrcheck"):
                    edges[name].add(target)
    return edges


def _stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) >= 2 and parts[1] in STAGES else None


def test_no_import_circles():
    edges = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in edges:
        if module not in index:
            visit(module)
    assert circles == []


def test_no_stage_imports_a_later_stage():
    backwards = []
    for module, targets in _graph().items():
        here = _stage(module)
        for target in targets:
            there = _stage(target)
            if here and there and STAGES.index(there) > STAGES.index(here):
                backwards.append(f"{module} -> {target}")
            if not here and there and module != "qrcheck.__main__":
                backwards.append(f"{module} (the floor) -> {target}")
    assert backwards == []


def test_test_tooling_is_not_in_the_product():
    assert not (PACKAGE / "simulate.py").exists()
    assert not any("testkit" in t for targets in _graph().values() for t in targets)


@pytest.mark.parametrize("face", FACES)
def test_every_face_export_exists(face):
    package = importlib.import_module(f"qrcheck.{face}")
    assert package.__doc__ and len(package.__doc__) > 80  # says what the stage does
    for name in package.__all__:
        assert getattr(package, name) is not None


def test_faces_import_no_heavy_library():
    """`import qrcheck.<stage>` for every stage loads neither numpy, OpenCV nor reportlab (the
    command line imports faces eagerly and must start quickly)."""
    code = (
        "import sys\n"
        + "".join(f"import qrcheck.{face}\n" for face in FACES)
        + "print(sorted(m for m in ('numpy', 'cv2', 'reportlab') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_what_staff_are_told_about_a_code_is_written_once():
    """The command line's notes and the web page's cards take their sentences from one place
    (reports.explain): the verdict's detail, what the network told, the action's reason; the
    missing network is not repeated on every code."""
    from qrcheck.board.decide import effective_verdict
    from qrcheck.board.results import CodeResult
    from qrcheck.grade.measure import Grade
    from qrcheck.i18n import t
    from qrcheck.links.model import LiveResult
    from qrcheck.links.verdict import Verdict, describe
    from qrcheck.reports.explain import code_sentences
    from qrcheck.vision.shapes import Located

    located = Located(((0, 0), (10, 0), (10, 10), (0, 10)), "https://x", ("zxing-cpp",))
    verdict = effective_verdict(Verdict("current", "1.000419"), "dead")
    dead = LiveResult(
        "https://x", "dead", 404, detail_key="links.live_dead", detail_params={"http": 404}
    )
    code = CodeResult(located, Grade("D", 1.0, {}), verdict, "reprint", "grade.weak", dead)
    assert code_sentences(code, "vi") == [
        describe(verdict, "vi"),
        t("links.live_dead", "vi", http=404),
        t("grade.weak", "vi"),
    ]
    offline = LiveResult("https://x", "unverified", detail_key="links.live_no_network")
    quiet = CodeResult(
        located, Grade("A", 4.0, {}), Verdict("current", "1.000419"), "ok", None, offline
    )
    assert code_sentences(quiet, "vi") == []
