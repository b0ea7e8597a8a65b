"""The repository's example project, copied for a test: the one project every suite starts from.

The example lives at the repository root (it is also what `twideploy init` writes), so a
test that needs a project it may change copies these files, and only these, into its own
folder; `tests/e2e` has it as the `project_dir` fixture.
"""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE_FILES = ("twideploy.yaml", "environments", "flows", "functions")


def copy_example(root: Path) -> Path:
    """A fresh copy of the example project at `root` (created; it must not exist yet)."""
    root.mkdir(parents=True)
    for name in EXAMPLE_FILES:
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    return root
