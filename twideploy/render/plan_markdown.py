"""Markdown for pull-request comments and $GITHUB_STEP_SUMMARY."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from twideploy.plan.flowdiff import describe, string_change
from twideploy.plan.model import Action, Change, Plan
from twideploy.render.comment import COMMENT_LIMIT, cut_note, fit
from twideploy.render.flowpicture import picture_lines, pictures_block
from twideploy.render.symbols import SYMBOL, field_lines, markdown_diff_line

if TYPE_CHECKING:  # plan.pictures draws with render.flowgraph: imported at run time, a cycle
    from twideploy.plan.pictures import FlowPicture

MARKER = "<!-- twideploy-plan -->"


def render_markdown(plan: Plan, *, title: str | None = None, pictures: Mapping[str, FlowPicture] | None = None,
                    limit: int = COMMENT_LIMIT) -> str:
    """The plan as a pull-request comment: the summary, a table of changes, a picture of each
    changed flow (`pictures`, by address), the details; cut to `limit` characters (see `fit`)."""
    s = plan.summary()
    head = [MARKER, f"### {title or 'twideploy plan'}: `{plan.environment}`", "", f"**{plan.summary_line()}**", ""]
    if plan.git_sha:
        head += [f"Commit `{plan.git_sha}` against account `{plan.account_sid}`.", ""]
    rows = [f"| `{SYMBOL[c.action]}` | `{c.address}` | {c.action.value} |" for c in plan.actionable]
    drawn = [picture_lines(address, picture) for address, picture in (pictures or {}).items()]
    detail: list[str] = []
    for change in plan.actionable:
        detail.append(f"{SYMBOL[change.action]} {change.address}")
        detail += _detail_lines(change)
        detail += [markdown_diff_line(line) for line in change.diff]
    tail = []
    cosmetic = [c for c in plan.changes if c.cosmetic_only and not plan.include_layout]
    unmanaged = [c for c in plan.changes if c.action is Action.UNMANAGED]
    if cosmetic:
        tail += ["", f"{len(cosmetic)} flow(s) differ only in canvas layout (not applied): "
                 + ", ".join(f"`{c.address}`" for c in cosmetic)]
    if unmanaged:
        tail += ["", f"{len(unmanaged)} live resource(s) not in the manifests (kept; removed only with `--prune`)."]
    tail += ["", f"<sub>create {s['create']} · update {s['update']} · delete {s['delete']}</sub>"]
    command = f"twideploy plan --env {plan.environment}"

    def build(n_pictures: int, n_details: int, n_rows: int) -> str:
        lines = list(head)
        if plan.has_changes:
            lines += ["| | resource | action |", "|---|---|---|", *rows[:n_rows]]
            lines += [f"| | {note} | |" for note in cut_note(len(rows) - n_rows, "resources", command)]
            lines += pictures_block(drawn[:n_pictures], len(drawn) - n_pictures, command)
            lines += ["", "<details><summary>Details</summary>", "", "```diff", *detail[:n_details],
                      *cut_note(len(detail) - n_details, "lines", command), "```", "", "</details>"]
        return "\n".join(lines + tail) + "\n"

    return fit(build, len(drawn), len(detail), len(rows), limit)


def _detail_lines(change: Change) -> list[str]:
    """A change's lines in the ```diff block; a changed string as `-` and `+` lines in column 0,
    which GitHub colours, with the same stretch of its old and new text (changed words in it)."""
    if not change.widgets:
        return [f"    {line}" for line in field_lines(change)]
    lines = []
    for widget in change.widgets:
        diff = string_change(widget)
        lines += diff.markdown() if diff is not None else [f"    {describe(widget)}"]
    return lines
