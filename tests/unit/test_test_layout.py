"""The test suite's own layout: no test module imports another test module.

A test module that takes helpers from another one cannot be changed, split or deleted
without breaking the other, and a `test_*` name imported with them is collected twice.
Shared code lives in helper modules (tests/e2e/helpers.py, tests/emulator/helpers.py,
tests/example.py) and fixtures in conftest.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _module_file(root: Path, dotted: str) -> Path | None:
    """The file of module `dotted` (e.g. tests.e2e.test_cli) if it is under `root`, the tests folder."""
    parts = dotted.split(".")
    if parts[0] != root.name:
        return None
    path = root.joinpath(*parts[1:])
    return path.with_suffix(".py") if path.with_suffix(".py").is_file() else None


def imports_of_test_modules(root: Path) -> list[str]:
    """`file:line: imports tests/.../test_x.py` for each import of a test module by a test module under `root`."""
    found = []
    for path in sorted(root.rglob("test_*.py")):
        package = ".".join((root.name, *path.relative_to(root).parent.parts))
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                module = ".".join([*base, *([node.module] if node.module else [])])
                modules = [module, *(f"{module}.{alias.name}" for alias in node.names)]
            else:
                continue
            for module in modules:
                target = _module_file(root, module)
                if target is not None and target.name.startswith("test_") and target != path:
                    found.append(f"{path.relative_to(root.parent)}:{node.lineno}: imports "
                                 f"{target.relative_to(root.parent)}")
    return found



def test_no_test_module_imports_another():
    assert imports_of_test_modules(TESTS) == []


def test_every_form_of_importing_a_test_module_is_found(tmp_path: Path):
    root = tmp_path / "tests"
    (root / "e2e").mkdir(parents=True)
    for name in ("__init__.py", "e2e/__init__.py", "e2e/helpers.py", "e2e/test_engine.py"):
        (root / name).write_text("")
    (root / "e2e/test_cli.py").write_text(
        "from .helpers import run\n"  # a helpers module: fine
        "from .test_engine import edit_yaml\n"
        "from . import test_engine\n"
        "from tests.e2e.test_engine import set_greeting\n"
        "import tests.e2e.test_engine\n"
        "from tests.e2e import helpers, test_engine\n"
        "import json\n"
    )
    (root / "test_top.py").write_text("from .e2e.test_cli import x\nfrom .e2e import helpers\n")
    assert imports_of_test_modules(root) == [
        f"tests/e2e/test_cli.py:{line}: imports tests/e2e/test_engine.py" for line in (2, 3, 4, 5, 6)
    ] + ["tests/test_top.py:1: imports tests/e2e/test_cli.py"]
