"""`twideploy export`: write manifests from a live account (adopt an account built by hand)."""

from __future__ import annotations

import click

from twideploy.cli.common import console, env_option, project_dir_option
from twideploy.export import export as export_account


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
    report = export_account(project_dir, env_name, flows=names)
    for label, paths in (("created", report.created), ("updated", report.updated), ("removed", report.removed)):
        for path in paths:
            console.print(f"{label:>8} {path}")
    if report.unchanged:
        console.print(f"[dim]{len(report.unchanged)} file(s) already up to date[/]")
    console.print(f"Exported {len(report.flows)} flow(s), {len(report.services)} service(s), "
                  f"{len(report.numbers)} number binding(s) of environment {report.environment}.")
    if report.assets_not_fetched:
        console.print(f"[yellow]{len(report.assets_not_fetched)} asset(s) could not be downloaded:[/]")
        for line in report.assets_not_fetched:
            console.print(f"  {line}")
    for line in report.warnings:
        console.print(f"[yellow]warning:[/] {line}")
