"""The drift report for people (text), machines (JSON) and issues and step summaries (markdown)."""

from __future__ import annotations

import json

from twideploy.drift import INFO, LAYOUT, DriftItem, DriftReport
from twideploy.render.comment import COMMENT_LIMIT, cut_note, fit
from twideploy.render.flowpicture import picture_lines, pictures_block

DRIFT_DIRECTION = "Marked from the live flow to the manifests: what apply would change."

MARKER = "<!-- twideploy-drift -->"


def render_json(report: DriftReport) -> str:
    return json.dumps(report.to_dict(), indent=2, default=str)


def render_text(report: DriftReport) -> str:
    lines = [f"twideploy drift for environment {report.environment} (account {report.account_sid})"]
    last = report.last_deploy
    if last:
        lines.append(f"Last deploy: {last['deploy_id']}" + (f", git {last['git_sha']}" if last.get("git_sha") else "")
                     + f", {last['started_at']}")
    else:
        lines.append("No deploy journal for this environment here (flows are still attributed by revision).")
    lines.append("Widget lines read: live -> manifests.")
    lines.append("")
    sections = [(report.drifted, "")]
    layout = [i for i in report.of(LAYOUT) if i not in report.drifted]
    if layout:
        sections.append((layout, "Layout only (canvas moves; not drift unless --include-layout):"))
    if report.of(INFO):
        sections.append((report.of(INFO), "Notes (not drift):"))
    for items, title in sections:
        if not items:
            continue
        if title:
            lines += [title]
        for item in items:
            mark = {True: " [outside twideploy]", False: " [twideploy]", None: ""}[item.outside_twideploy]
            lines.append(
                f"{'!' if item in report.drifted else '-'} {item.address} ({item.action}){mark}: {item.summary}"
            )
            lines += [f"    {line}" for line in _details(item)]
        lines.append("")
    lines.append(report.summary_line())
    return "\n".join(lines) + "\n"


def render_markdown(report: DriftReport, *, limit: int = COMMENT_LIMIT) -> str:
    """The report for an issue or a step summary: the summary, a table of what drifted, a
    picture of each drifted flow, the details; cut to `limit` characters (see `fit`)."""
    head = [MARKER, f"### twideploy drift: `{report.environment}`", "", f"**{report.summary_line()}**", ""]
    last = report.last_deploy
    if last:
        head += [
            f"Last deploy `{last['deploy_id']}`"
            + (f" from commit `{last['git_sha']}`" if last.get("git_sha") else "")
            + f", {last['started_at']}. Account `{report.account_sid}`, checked {report.checked_at}.",
            "",
        ]
    else:
        head += [f"No deploy journal for `{report.environment}` on this runner; flows are attributed by their "
                 f"revisions, builds, variables and numbers cannot be. Account `{report.account_sid}`, checked "
                 f"{report.checked_at}.", ""]
    rows = []
    for item in report.drifted:
        outside = {True: "**yes**", False: "no", None: "unknown"}[item.outside_twideploy]
        rows.append(f"| `{item.address}` | {item.action} | {outside} | {item.when or ''} | {_cell(item.summary)} |")
    drawn = [picture_lines(address, picture) for address, picture in report.pictures.items()]
    detail = []
    for item in report.drifted:
        detail.append(f"! {item.address}")
        detail += [f"    {line}" for line in _details(item)]
    tail = []
    layout = [i for i in report.of(LAYOUT) if i not in report.drifted]
    if layout:
        tail += ["", f"{len(layout)} flow(s) differ only in canvas layout (not drift): "
                 + ", ".join(f"`{i.address}`" for i in layout)]
    if report.of(INFO):
        tail += ["", "Notes:"] + [f"- `{i.address}`: {_cell(i.summary)}" for i in report.of(INFO)]
    command = f"twideploy drift --env {report.environment}"

    def build(n_pictures: int, n_details: int, n_rows: int) -> str:
        lines = list(head)
        if report.drifted:
            lines += ["| resource | change | outside twideploy | when | what |", "|---|---|---|---|---|",
                      *rows[:n_rows]]
            lines += [f"| {note} | | | | |" for note in cut_note(len(rows) - n_rows, "resources", command)]
            lines += pictures_block(drawn[:n_pictures], len(drawn) - n_pictures, command, DRIFT_DIRECTION)
            lines += ["", "<details><summary>Details (live -> manifests)</summary>", "", "```diff",
                      *detail[:n_details], *cut_note(len(detail) - n_details, "lines", command),
                      "```", "", "</details>"]
        return "\n".join(lines + tail) + "\n"

    return fit(build, len(drawn), len(detail), len(rows), limit)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _details(item: DriftItem) -> list[str]:
    """The outside revisions of a drifted item, then its changes (live -> manifests), one line
    each: a changed string of several lines is described as several (see `flowdiff.describe`)."""
    lines = []
    for revision in item.details.get("outside_revisions", []):
        by = f" by {revision['author_sid']}" if revision.get("author_sid") else ""
        lines.append(f"revision {revision['revision']} ({revision['date_updated']}{by}): "
                     f"{revision['commit_message'] or '(no commit message)'}")
    return lines + [line for change in item.changes for line in change.splitlines()]
