"""`twideploy export`: write manifests from a live account (adopt an account built by hand)."""

from __future__ import annotations

import click

from twideploy.cli.common import console, env_option, project_dir_option
from twideploy.export import export as export_account
from twideploy.render.export import render_text


@click.command()
@env_option
@project_dir_option
@click.option("--flows", "flow_names", multiple=True, metavar="NAME",
              help="Export only these flows (file name or friendly name; repeatable, or several after one "
                   "--flows), plus the subflows they run. Default: every flow of the account.")
@click.argument("more_flows", nargs=-1, metavar="")
def export(env_name, project_dir, flow_names, more_flows):
    """Write flows, services and number bindings of the live account into the manifests.

    Existing files are updated in place (comments and key order survive). Afterwards,
    `twideploy plan` against the same account shows no changes.
    """
    names = [*flow_names, *more_flows] or None
    render_text(export_account(project_dir, env_name, flows=names), console)
