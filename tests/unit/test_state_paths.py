"""Every path under `.twideploy/` is built by state/paths.py alone.

The journal folder was once built in nine places (`state_dir / "journal"`, a literal
`.twideploy` in promote, ...); a module outside state/paths.py naming a state folder or file
again fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import twideploy
from twideploy.state.paths import STATE_DIR, StatePaths

PACKAGE = Path(twideploy.__file__).parent
STATE_NAMES = {"journal", "locks", "cache", "plan-key", STATE_DIR}


def _literals(tree: ast.AST) -> list[ast.Constant]:
    """String constants, docstrings aside (they may describe the layout)."""
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [node for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings]


def test_no_module_but_state_paths_names_a_state_path():
    builders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "state" / "paths.py":
            continue
        for node in _literals(ast.parse(path.read_text(), str(path))):
            if node.value in STATE_NAMES or node.value.startswith(f"{STATE_DIR}/"):
                builders.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {node.value!r}")
    assert builders == []


def test_the_state_layout(tmp_path):
    paths = StatePaths(tmp_path)
    assert paths.journal_folder("prod") == tmp_path / ".twideploy" / "journal" / "prod"
    assert paths.lock("prod") == tmp_path / ".twideploy" / "locks" / "prod.lock"
    assert paths.content_cache("AC1") == tmp_path / ".twideploy" / "cache" / "content-AC1.json"
    assert paths.plan_key == tmp_path / ".twideploy" / "plan-key"
    assert paths.emulator_db("local") == tmp_path / ".twideploy" / "emulator" / "local.sqlite"
