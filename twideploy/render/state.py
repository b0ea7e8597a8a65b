"""`twideploy state show` for people (where, lock, journals) and machines (JSON)."""

from __future__ import annotations

import dataclasses
import json

from rich.console import Console

from twideploy.deploy import StateReport
from twideploy.render.history import deploys_table, print_wide


def render_json(report: StateReport) -> str:
    return json.dumps(dataclasses.asdict(report), indent=2)


def render_text(report: StateReport, console: Console) -> None:
    console.print(f"state of {report.environment}: {report.kind} ({report.where})")
    console.print(f"lock: {report.lock}")
    console.print(f"content hashes: {report.content_hashes}")
    if report.unfinished:
        console.print(f"unfinished deploys: {', '.join(report.unfinished)} "
                      f"(twideploy rollback --env {report.environment})")
    print_wide(deploys_table(report.environment, report.deploys), console)
