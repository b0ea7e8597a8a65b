"""`twideploy history` for people (a table of deploys, each flow's revisions) and machines (JSON)."""

from __future__ import annotations

import dataclasses
import json

from rich.console import Console
from rich.table import Table

from twideploy.deploy import DeployEntry, HistoryReport


def render_json(report: HistoryReport) -> str:
    return json.dumps(dataclasses.asdict(report), indent=2)


def deploys_table(environment: str, deploys: list[DeployEntry]) -> Table:
    table = Table(title=f"Deploys of {environment}")
    for column in ("deploy id", "kind", "status", "git", "tag", "started", "changes"):
        table.add_column(column)
    for d in deploys:
        status = d.status + (" (reverted)" if d.reverted else "")
        what = ", ".join(d.changes[:4]) + (" ..." if len(d.changes) > 4 else "") if d.changes \
            else ("reverts " + ", ".join(d.reverts) if d.reverts else "")
        table.add_row(d.deploy_id, d.kind or "", status, (d.git_sha or "")[:12], d.tag or "", d.started_at or "", what)
    return table


def render_text(report: HistoryReport, console: Console) -> None:
    console.print(deploys_table(report.environment, report.deploys))
    for name, revisions in report.flow_revisions.items():
        console.print(f"[bold]{name}[/]")
        for r in revisions:
            console.print(f"  r{r.revision}  {r.status:<9} {r.date_updated}  {r.commit_message or ''}")
