"""The pictures of changed flows in plan and drift markdown: a Mermaid block per flow (GitHub
draws it in comments and step summaries) under a one-line legend of the marks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from twideploy.render.comment import cut_note
from twideploy.render.flowgraph import to_mermaid

if TYPE_CHECKING:  # plan.pictures draws with render.flowgraph: imported at run time, a cycle
    from twideploy.plan.pictures import FlowPicture

LARGE_FLOW = 12
"""Widgets from which a picture is folded in `<details>`: a tall picture would push the details off screen."""

LEGEND = "Widgets: 🟩 added · 🟨 changed · 🟥 removed (dashed border). Transitions: green added · red dotted removed."


def picture_lines(address: str, picture: FlowPicture) -> list[str]:
    """One flow's picture: a heading and its Mermaid block, folded when the flow is large."""
    block = ["```mermaid", to_mermaid(picture.graph, picture.marks, picture.edge_marks).rstrip("\n"), "```"]
    widgets = len(picture.graph.nodes)
    if widgets < LARGE_FLOW:
        return ["", f"**`{address}`**", "", *block]
    return ["", f"<details><summary><code>{address}</code> ({widgets} widgets)</summary>", "", *block, "",
            "</details>"]


def pictures_block(drawn: list[list[str]], left_out: int, command: str, direction: str = "") -> list[str]:
    """The pictures `drawn` (from `picture_lines`) under the legend (and `direction`, what the
    marks compare when that is not a plan's live -> new), and a note of those left out."""
    if not drawn and not left_out:
        return []
    lines = ["", f"<sub>{LEGEND}{' ' + direction if direction else ''}</sub>"] if drawn else []
    for picture in drawn:
        lines += picture
    return lines + (["", *cut_note(left_out, "flow pictures", command)] if left_out else [])
