"""`twideploy validate`: check the manifests offline; never touches the network."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from twideploy.cli.common import project_dir_option
from twideploy.errors import Problem


def _annotation(problem: Problem) -> str:
    """A GitHub Actions workflow command, so problems show up on the pull request's diff."""
    kind = "error" if problem.severity == "error" else "warning"
    message = problem.message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    where = f"file={problem.file}"
    if problem.line:
        where += f",line={problem.line}"
    return f"::{kind} {where}::{message}"


@click.command()
@project_dir_option
@click.option("--env", "env_names", multiple=True, metavar="ENV",
              help="Check only these environments, including that the environment variables they "
                   "need are set. Repeatable. Default: every environment, without environment variables.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def validate(project_dir: Path, env_names: tuple[str, ...], output_format: str) -> None:
    """Check schema, references and flow structure; errors as file:line: message.

    Exit status 0 when there are no errors (warnings allowed), 1 otherwise.
    """
    from twideploy.manifest.validation import validate_directory

    problems = validate_directory(project_dir, list(env_names) if env_names else None)
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity != "error"]
    if output_format == "json":
        click.echo(json.dumps({
            "version": 1,
            "valid": not errors,
            "problems": [
                {"file": p.file, "line": p.line, "severity": p.severity, "message": p.message}
                for p in problems
            ],
        }, indent=2))
    else:
        for problem in problems:
            click.echo(str(problem))
        if errors:
            summary = f"{len(errors)} error{'s' if len(errors) != 1 else ''}"
        else:
            summary = "valid"
        if warnings:
            summary += f", {len(warnings)} warning{'s' if len(warnings) != 1 else ''}"
        checked = f" (environments: {', '.join(env_names)})" if env_names else ""
        click.echo(f"{summary}{checked}")
    if os.environ.get("GITHUB_ACTIONS") == "true":
        for problem in problems:
            click.echo(_annotation(problem))
    raise SystemExit(1 if errors else 0)
