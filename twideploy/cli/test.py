"""`twideploy test`: run the flow scenarios (flows/**/*.test.yaml) offline. Exit 0 all pass, 1 otherwise."""

from __future__ import annotations

from pathlib import Path

import click

from twideploy.cli.common import project_dir_option
from twideploy.errors import TwideployError

FORMATS = ("text", "json", "markdown")


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--env", "env_name", help="Environment for scenarios that name none (default: the project's "
                                        "default_environment).")
@project_dir_option
@click.option("-k", "keyword", metavar="PATTERN", help="Run only scenarios whose file::name contains PATTERN.")
@click.option("--junit-xml", type=click.Path(dir_okay=False, path_type=Path), help="Also write JUnit XML here.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
def test(paths, env_name, project_dir, keyword, junit_xml, fmt):
    """Run the scenarios in PATHS (scenario files or folders; default: flows/) through the flows,
    Functions executed in Node.js, HTTP answered from mocks. Shows the first divergence of each
    failing scenario and, per flow, the widgets and transitions no scenario reached."""
    from twideploy.flowtest.runner import run_tests
    from twideploy.render.flowtest import render_json, render_junit, render_markdown, render_text

    report = run_tests(project_dir, list(paths) or None, env_name=env_name, keyword=keyword)
    if junit_xml is not None:
        try:
            junit_xml.write_text(render_junit(report), encoding="utf-8")
        except OSError as error:
            raise TwideployError(f"cannot write {junit_xml}: {error.strerror or error}") from error
    rendered = {"text": render_text, "json": render_json, "markdown": render_markdown}[fmt](report)
    click.echo(rendered, nl=fmt == "json")
    raise SystemExit(0 if report.ok else 1)
