"""`twideploy history` for people (a table of deploys, each flow's revisions) and machines (JSON)."""

from __future__ import annotations

import dataclasses
import json

from rich.console import Console
from rich.measure import Measurement
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
    console = print_wide(deploys_table(report.environment, report.deploys), console)
    for name, revisions in report.flow_revisions.items():
        console.print(f"[bold]{name}[/]")
        for r in revisions:
            console.print(f"  r{r.revision}  {r.status:<9} {r.date_updated}  {r.commit_message or ''}")


def print_wide(table: Table, console: Console) -> Console:
    """Print `table` whole; the console it was printed on (see `_wide_enough`)."""
    if not console.is_terminal:
        console = _wide_enough(table, console)
    console.print(table)
    return console


def _wide_enough(table: Table, console: Console) -> Console:
    """A console as wide as the table. Off a terminal (a CI log, a pipe) rich assumes 80
    columns and would cut deploy ids and timestamps, the very values one copies from there."""
    width = Measurement.get(console, console.options.update(width=10_000), table).maximum
    return Console(file=console.file, width=max(width, console.width), highlight=False, soft_wrap=True)
