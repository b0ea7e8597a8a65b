"""`twideploy export`'s report: the files it wrote and what it could not export."""

from __future__ import annotations

from rich.console import Console

from twideploy.providers.base import ExportReport


def render_text(report: ExportReport, console: Console) -> None:
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
