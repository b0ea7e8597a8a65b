"""What the package promises its users beyond behaviour: a light CLI start and type information."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import twideploy


def test_the_cli_starts_without_the_emulators_web_stack():
    """Flask is the emulator's; `twideploy plan` against Twilio must not pay for importing it."""
    probe = (
        "import sys, twideploy.cli.main; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug')))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_package_declares_its_type_hints():
    assert (Path(twideploy.__file__).parent / "py.typed").is_file()


def test_ci_runs_the_readmes_checks_lint_and_types_before_the_tests():
    """What a contributor runs from the README is what CI runs: `.ci/run` ends with the same
    command, so ruff and mypy cannot drift out of one of them."""
    root = Path(__file__).resolve().parents[2]
    section = (root / "README.md").read_text().split("**Run the checks and tests**")[1]
    command = section.split("```sh\n")[1].split("\n```")[0]
    checks = command.split("pip install -e '.[test]' && ")[1]
    assert checks.startswith("ruff check . && mypy && python -m pytest")
    assert (root / ".ci/run").read_text().rstrip().splitlines()[-1] == checks
