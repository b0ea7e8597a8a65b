"""`twideploy init`: start a project from the example one (the package's scaffold)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import click

from twideploy.errors import TwideployError
from twideploy.state.paths import STATE_DIR


def scaffold_files() -> dict[str, bytes]:
    """The example project shipped in the package: relative path -> content.

    In git, `twideploy/scaffold/` holds only links to the example at the repository root
    (one copy of each file); building a wheel follows the links and ships real files.
    """
    root = resources.files("twideploy") / "scaffold"
    files: dict[str, bytes] = {}

    def walk(node, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.name.startswith(".") or child.name == "__pycache__":
                continue
            rel = f"{prefix}{child.name}"
            if child.is_dir():
                walk(child, rel + "/")
            else:
                files[rel] = child.read_bytes()

    walk(root, "")
    return files


def init_project(directory: Path) -> list[str]:
    """Write the example project and its JSON Schemas into `directory`; refuses to overwrite."""
    import json

    from twideploy.cli.schema import SCHEMA_DIR, schema_file
    from twideploy.manifest.models import KINDS, json_schema

    files = scaffold_files()
    for kind in KINDS:
        files[f"{SCHEMA_DIR}/{schema_file(kind)}"] = (json.dumps(json_schema(kind), indent=2) + "\n").encode()
    existing = sorted(rel for rel in files if (directory / rel).exists())
    if existing:
        raise TwideployError(
            f"refusing to overwrite existing files in {directory}: {', '.join(existing)}"
        )
    for rel, content in files.items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return sorted(files) + _ignore_state(directory)


def _ignore_state(directory: Path) -> list[str]:
    """Keep `.twideploy/` (emulator database, journals, caches) out of git."""
    gitignore = directory / ".gitignore"
    lines = gitignore.read_text().splitlines() if gitignore.exists() else []
    if f"{STATE_DIR}/" in lines or STATE_DIR in lines:
        return []
    gitignore.write_text("\n".join([*lines, f"{STATE_DIR}/"]) + "\n")
    return [".gitignore"]


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
def init(directory: Path) -> None:
    """Create a project in DIRECTORY (default: here) from the example contact center."""
    written = init_project(directory)
    for rel in written:
        click.echo(f"created {directory / rel}")
    click.echo("next: twideploy validate, then twideploy plan --env local")
