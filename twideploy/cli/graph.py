"""`twideploy graph`: a picture of one flow, as Mermaid, SVG or DOT."""

from __future__ import annotations

from pathlib import Path

import click

from twideploy.cli.common import project_dir_option
from twideploy.errors import TwideployError

FORMATS = ("mermaid", "svg", "dot")


@click.command()
@click.argument("flow")
@click.option("--env", "env_name", help="Compile references for this environment, so Run Function and Run "
                                        "Subflow widgets show what they call there (reads its account).")
@project_dir_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="mermaid", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file, not stdout.")
def graph(flow, env_name, project_dir, fmt, out):
    """Draw FLOW (its name, e.g. ivr-main, or friendly name): widgets with name and type,
    transitions labelled with their event. SVG places widgets at their Studio canvas offsets."""
    from twideploy.graph import flow_graph
    from twideploy.render.flowgraph import to_dot, to_mermaid, to_svg

    drawn = {"mermaid": to_mermaid, "svg": to_svg, "dot": to_dot}[fmt](flow_graph(project_dir, flow, env_name))
    if out is None:
        click.echo(drawn, nl=False)
        return
    try:
        out.write_text(drawn, encoding="utf-8")
    except OSError as error:
        raise TwideployError(f"cannot write {out}: {error.strerror or error}") from error
