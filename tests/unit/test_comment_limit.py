"""Plan and drift markdown stay within GitHub's comment limit: pictures go first, then detail lines, then
table rows; the summary never. Plans are built here (rendering only: no account is read)."""

from __future__ import annotations

import re

from twideploy.addresses import Address
from twideploy.drift import DriftReport
from twideploy.plan.model import Action, Change, Plan, WidgetChange
from twideploy.plan.pictures import FlowPicture, picture
from twideploy.providers.audit import DRIFT, DriftItem
from twideploy.render import render_markdown
from twideploy.render.comment import COMMENT_LIMIT
from twideploy.render.drift_report import render_markdown as render_drift
from twideploy.render.flowgraph import FlowGraph


def definition(widgets: int, say: str) -> dict:
    return {"states": [{"name": f"w{i}", "type": "say-play",
                        "properties": {"say": say, "offset": {"x": 0, "y": 200 * i}},
                        "transitions": [{"event": "audioComplete", "next": f"w{i + 1}"}] if i + 1 < widgets else []}
                       for i in range(widgets)]}


def big_plan(flows: int, widgets: int, changed: int | None = None) -> tuple[Plan, dict[str, FlowPicture]]:
    """`flows` changed flows of `widgets` widgets each, the prompts of `changed` of them changed (all)."""
    changes, pictures = [], {}
    for n in range(flows):
        widget_changes = [WidgetChange(f"w{i}", "property", "say", "Hello " * 10, "Goodbye " * 10)
                          for i in range(widgets if changed is None else changed)]
        change = Change("flow", Address.flow(f"flow{n}"), Action.UPDATE, {}, {}, widget_changes)
        changes.append(change)
        graphs = [FlowGraph.from_definition(definition(widgets, say)) for say in ("Hello", "Goodbye")]
        pictures[str(change.address)] = picture(*graphs, change)
    return Plan("prod", "AC" + "0" * 32, changes, {}), pictures


def fences_closed(markdown: str) -> bool:
    return markdown.count("```") % 2 == 0 and markdown.count("<details>") == markdown.count("</details>")


def test_a_plan_that_fits_is_whole():
    plan, pictures = big_plan(2, 3)
    markdown = render_markdown(plan, pictures=pictures)
    assert markdown.count("```mermaid") == 2 and "more" not in markdown and fences_closed(markdown)


def test_pictures_go_first_the_last_first():
    plan, pictures = big_plan(40, 20, changed=2)
    whole = render_markdown(plan, pictures=pictures, limit=10**9)
    markdown = render_markdown(plan, pictures=pictures)
    assert len(whole) > COMMENT_LIMIT >= len(markdown) and fences_closed(markdown)
    shown = markdown.count("```mermaid")
    assert 0 < shown < 40 and f"... {40 - shown} more flow pictures: too long for one comment" in markdown
    assert "<code>flow.flow0</code>" in markdown and "<code>flow.flow39</code>" not in markdown
    assert whole.split("<summary>Details</summary>")[1] == markdown.split("<summary>Details</summary>")[1]


def test_then_detail_lines_go_and_never_the_summary():
    plan, pictures = big_plan(150, 40)
    markdown = render_markdown(plan, pictures=pictures)
    assert len(markdown) <= COMMENT_LIMIT and fences_closed(markdown)
    assert "```mermaid" not in markdown and "... 150 more flow pictures" in markdown
    assert re.search(r"\.\.\. \d+ more lines: too long for one comment \(`twideploy plan --env prod` shows", markdown)
    assert "**Plan: 0 to create, 150 to update, 0 to delete.**" in markdown
    assert markdown.count("| `~` | `flow.") == 150  # every row of the table is still there
    assert markdown.rstrip().endswith("<sub>create 0 · update 150 · delete 0</sub>")


def test_table_rows_go_last():
    plan, _ = big_plan(3000, 1)
    markdown = render_markdown(plan)
    assert len(markdown) <= COMMENT_LIMIT and fences_closed(markdown)
    assert "<summary>Details</summary>" in markdown and re.search(r"\| \| \.\.\. \d+ more resources", markdown)
    assert "**Plan: 0 to create, 3000 to update, 0 to delete.**" in markdown


def test_a_drift_report_is_cut_the_same_way():
    plan, pictures = big_plan(150, 40)
    items = [DriftItem(c.address, "flow", DRIFT, "update", "changed in the console", [f"w{i}.say: changed"] * 40,
                       outside_twideploy=True) for i, c in enumerate(plan.changes)]
    report = DriftReport("prod", plan.account_sid, "2026-11-30T00:00:00Z", False, None, items, pictures)
    markdown = render_drift(report)
    assert len(markdown) <= COMMENT_LIMIT < len(render_drift(report, limit=10**9)) and fences_closed(markdown)
    assert "**Drift: 150 resource(s) differ from the manifests, 150 changed outside twideploy.**" in markdown
    assert "more flow pictures" in markdown and "`twideploy drift --env prod` shows them all" in markdown
