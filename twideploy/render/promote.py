"""`twideploy promote` for people (the plan and where each change comes from) and for pull
requests and step summaries (markdown)."""

from __future__ import annotations

from rich.console import Console

from twideploy.addresses import Address
from twideploy.plan.executor import Outcome
from twideploy.plan.model import Plan
from twideploy.promote import Source
from twideploy.render.plan_markdown import render_markdown as plan_markdown


def provenance_lines(plan: Plan, source: Source) -> list[tuple[Address, str]]:
    """(address, where it comes from) for every change the plan would make."""
    settings = f"the manifests (environments/{plan.environment}.yaml)"
    return [(c.address, settings if c.kind in ("variable", "number", "environment") else
             source.for_change(c.address) or settings) for c in plan.actionable]


def render_provenance(plan: Plan, source: Source, out: Console) -> None:
    out.print(f"Promoting {source.description}:")
    for address, origin in provenance_lines(plan, source):
        out.print(f"  {address}  <-  {origin}")
    for warning in source.warnings:
        out.print(f"[yellow]warning:[/] {warning}")


def render_markdown(result_plan: Plan, source: Source, *, from_name: str | None, outcome: Outcome | None,
                    applied: bool) -> str:
    title = f"twideploy promote {from_name + ' ' if from_name else ''}→ {result_plan.environment}"
    text = plan_markdown(result_plan, title=title)
    lines = ["", f"Promoting {source.description}.", ""]
    rows = provenance_lines(result_plan, source)
    if rows:
        lines += ["| change | comes from |", "|---|---|"] + [f"| `{a}` | {w} |" for a, w in rows] + [""]
    lines += [f"- :warning: {w}" for w in source.warnings]
    if applied and outcome is not None and outcome.deploy_id:
        lines += ["", f"**Applied** as deploy `{outcome.deploy_id}` ({outcome.writes} writes)."]
    elif applied:
        lines += ["", "Nothing to apply."]
    return text + "\n".join(lines) + "\n"
