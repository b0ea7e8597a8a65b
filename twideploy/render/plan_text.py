"""Terraform-like text: + create, ~ update, - delete, a summary line; colour on a terminal."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from twideploy.plan.flowdiff import describe, string_change
from twideploy.plan.model import Action, Change, Plan
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
        for line in _detail_lines(change, colour=console.color_system is not None and not console.no_color):
            console.print(f"    {line}", style="dim" if "(cosmetic)" in line else None)
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


def _detail_lines(change: Change, *, colour: bool) -> list[str]:
    """A change's lines as console markup. A changed string shows its changed words in colour on
    a terminal and marked `[-old-]{+new+}` elsewhere, where colour would be lost."""
    if not change.widgets:
        return [escape(line) for line in field_lines(change)]
    lines = []
    for widget in change.widgets:
        diff = string_change(widget)
        if diff is None:
            lines.append(escape(describe(widget)))
        else:
            lines += diff.markup() if colour else [escape(line) for line in diff.plain()]
    return lines
