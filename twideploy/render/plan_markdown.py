"""Markdown for pull-request comments and $GITHUB_STEP_SUMMARY."""

from __future__ import annotations

from twideploy.plan.flowdiff import describe
from twideploy.plan.model import Action, Plan
from twideploy.render.symbols import SYMBOL, field_lines, markdown_diff_line

MARKER = "<!-- twideploy-plan -->"


def render_markdown(plan: Plan, *, title: str | None = None) -> str:
    s = plan.summary()
    lines = [MARKER, f"### {title or 'twideploy plan'}: `{plan.environment}`", "",
             f"**{plan.summary_line()}**", ""]
    if plan.git_sha:
        lines += [f"Commit `{plan.git_sha}` against account `{plan.account_sid}`.", ""]
    if plan.has_changes:
        lines += ["| | resource | action |", "|---|---|---|"]
        for change in plan.actionable:
            lines.append(f"| `{SYMBOL[change.action]}` | `{change.address}` | {change.action.value} |")
        lines += ["", "<details><summary>Details</summary>", "", "```diff"]
        for change in plan.actionable:
            lines.append(f"{SYMBOL[change.action]} {change.address}")
            details = [describe(w) for w in change.widgets] if change.widgets else field_lines(change)
            lines += [f"    {line}" for line in details]
            lines += [markdown_diff_line(line) for line in change.diff]
        lines += ["```", "", "</details>"]
    cosmetic = [c for c in plan.changes if c.cosmetic_only and not plan.include_layout]
    unmanaged = [c for c in plan.changes if c.action is Action.UNMANAGED]
    if cosmetic:
        lines += ["", f"{len(cosmetic)} flow(s) differ only in canvas layout (not applied): "
                  + ", ".join(f"`{c.address}`" for c in cosmetic)]
    if unmanaged:
        lines += ["", f"{len(unmanaged)} live resource(s) not in the manifests (kept; removed only with `--prune`)."]
    lines.append("")
    lines.append(f"<sub>create {s['create']} · update {s['update']} · delete {s['delete']}</sub>")
    return "\n".join(lines) + "\n"
