"""`twideploy history`: deploys and flow revisions, with the git SHAs they came from."""

from __future__ import annotations

import json

import click
from rich.table import Table

from twideploy import deploy
from twideploy.cli.common import console, env_option, project_dir_option
from twideploy.workspace import open_workspace


@click.command()
@env_option
@project_dir_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--limit", type=int, default=20, show_default=True)
def history(env_name, project_dir, fmt, limit):
    """List deploys (from the journals) and the live flows' revisions (from Studio)."""
    with open_workspace(project_dir, env_name) as ws:
        data = deploy.history(ws, limit=limit)
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
        return
    table = Table(title=f"Deploys of {data['environment']}")
    for column in ("deploy id", "kind", "status", "git", "tag", "started", "changes"):
        table.add_column(column)
    for d in data["deploys"]:
        status = d["status"] + (" (reverted)" if d["reverted"] else "")
        what = ", ".join(d["changes"][:4]) + (" ..." if len(d["changes"]) > 4 else "") if d["changes"] \
            else ("reverts " + ", ".join(d["reverts"]) if d["reverts"] else "")
        table.add_row(d["deploy_id"], d["kind"] or "", status, (d["git_sha"] or "")[:12], d.get("tag") or "",
                      d["started_at"] or "", what)
    console.print(table)
    for name, revisions in data["flow_revisions"].items():
        console.print(f"[bold]{name}[/]")
        for r in revisions:
            console.print(f"  r{r['revision']}  {r['status']:<9} {r['date_updated']}  {r['commit_message'] or ''}")
