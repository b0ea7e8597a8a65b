"""Terraform-like text: + create, ~ update, - delete, a summary line; colour on a terminal."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from twideploy.plan.flowdiff import describe
from twideploy.plan.model import Action, Plan
from twideploy.render.symbols import STYLE, SYMBOL, diff_style, field_lines


def render_text(plan: Plan, console: Console, *, verbose: bool = False) -> None:
    console.print(f"[bold]twideploy plan[/] for environment [bold]{escape(plan.environment)}[/] "
                  f"(account {plan.account_sid}{', git ' + plan.git_sha if plan.git_sha else ''})")
    console.print()
    unmanaged = []
    for change in plan.changes:
        if change.action is Action.UNMANAGED:
            unmanaged.append(change)
            continue
        if change.action is Action.NOOP and not verbose:
            continue
        cosmetic = change.cosmetic_only and not plan.include_layout
        style = "dim" if cosmetic else STYLE[change.action]
        label = "layout only, not applied (use --include-layout)" if cosmetic else change.action.value
        console.print(f"[{style}]{SYMBOL[change.action]} {escape(str(change.address))}[/] [dim]({label})[/]"
                      + (f" [dim]- {escape(change.reason)}[/]" if change.reason else ""))
        for line in ([describe(w) for w in change.widgets] if change.widgets else field_lines(change)):
            console.print(f"    {escape(line)}", style="dim" if "(cosmetic)" in line else None)
        for line in change.diff:
            console.print(f"      {escape(line)}", style=diff_style(line), highlight=False)
    if unmanaged:
        console.print()
        console.print(
            f"[dim]{len(unmanaged)} live resource(s) not in the manifests (kept; removed only with --prune):[/]"
        )
        for change in unmanaged[:20]:
            console.print(f"[dim]  ? {escape(str(change.address))}[/]")
        if len(unmanaged) > 20:
            console.print(f"[dim]  ... and {len(unmanaged) - 20} more[/]")
    console.print()
    console.print(f"[bold]{plan.summary_line()}[/]")
