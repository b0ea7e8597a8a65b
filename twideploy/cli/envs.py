"""`twideploy envs`: the deployable environments, for people and for CI matrices.

`twideploy envs --json --target twilio` prints a JSON array of `{"name", "target", "state", "file"}`
objects on one line, ready for a GitHub Actions matrix:

    matrix:
      env: ${{ fromJSON(needs.envs.outputs.matrix) }}
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from twideploy.cli.common import project_dir_option


def _relative(path: Path, root: Path) -> str:
    path = Path(path)
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


@click.command()
@project_dir_option
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON array of {name, target, state, file} (a CI matrix).")
@click.option("--target", type=click.Choice(["twilio", "emulator"]), help="Only environments with this target.")
def envs(project_dir: Path, as_json: bool, target: str | None) -> None:
    """List the deployable environments (abstract ones are left out)."""
    # Imported here so that the rest of the CLI keeps working while the manifest
    # package is being changed.
    from twideploy.manifest import load_project

    project = load_project(project_dir)
    rows = [
        {"name": env.name, "target": env.target, "state": env.state, "file": _relative(env.file, project.root)}
        for env in sorted(project.environments.values(), key=lambda e: e.name)
        if target is None or env.target == target
    ]
    if as_json:
        # One line: GitHub's `echo "matrix=$(twideploy envs --json)" >> "$GITHUB_OUTPUT"` needs that.
        click.echo(json.dumps(rows, separators=(",", ":")))
    else:
        for row in rows:
            click.echo(row["name"])
