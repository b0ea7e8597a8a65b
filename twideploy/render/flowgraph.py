"""A Studio flow as a picture: widgets and their transitions, drawn as Mermaid, SVG or DOT.

`FlowGraph.from_definition` keeps only the shape of a flow: each widget's name, type and canvas
offset, a short label of what a Run Function or Run Subflow widget calls, and each transition's
event (`keypress`, `match: 1: sales`, `timeout`). No other property value is read, so a graph
of a compiled definition (secrets revealed) carries no secret and may go into a plan or a pull
request comment. The labels themselves are read from the definition: callers show a definition
fit to display (compiled with secret vars masked, or `mask_secret_strings`), as for any plan.

`to_mermaid` is for markdown (GitHub renders it), with optional marks that colour added,
changed and removed widgets and added and removed transitions (the plan's pictures);
`to_svg` draws the widgets where Studio's canvas has them (offsets scaled just enough that no
two boxes overlap), so the picture looks like the canvas users know; `to_dot` is for Graphviz.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape as xml_escape

ADDED, CHANGED, REMOVED = "added", "changed", "removed"
UNREACHED = "unreached"  # flow-test coverage: no scenario reached the widget or took the transition
NodeMarks = dict[str, str]
"""Widget name -> ADDED, CHANGED, REMOVED or UNREACHED."""
EdgeMarks = dict[tuple[str, str, str], str]
"""(source, event label, target), as `Edge.key` -> ADDED, REMOVED or UNREACHED."""

MAX_LABEL = 40  # characters of a call or condition label; a longer one ends in "..."


@dataclass(frozen=True)
class Node:
    name: str
    type: str
    x: int
    y: int
    calls: str | None = None  # what a Run Function / Run Subflow widget calls


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    event: str  # the label: the transition's event, `match: <condition name>` for a split's matches

    @property
    def key(self) -> tuple[str, str, str]:
        """How marks name an edge: (source, event label, target)."""
        return (self.source, self.event, self.target)


@dataclass
class FlowGraph:
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    @classmethod
    def from_definition(cls, definition: dict[str, Any]) -> FlowGraph:
        """The graph of a Studio definition (symbolic or compiled). Transitions without `next`
        (the flow ends there) and to widgets that do not exist are left out; malformed states
        (validate reports them) are skipped rather than failing a picture."""
        nodes: list[Node] = []
        for state in definition.get("states") or []:
            if not isinstance(state, dict) or not isinstance(state.get("name"), str):
                continue
            props = _mapping(state.get("properties"))
            offset = _mapping(props.get("offset"))
            nodes.append(Node(state["name"], str(state.get("type", "")), _number(offset.get("x")),
                              _number(offset.get("y")), _calls(str(state.get("type", "")), props)))
        names = {node.name for node in nodes}
        edges: list[Edge] = []
        for state in definition.get("states") or []:
            if not isinstance(state, dict) or state.get("name") not in names:
                continue
            for transition in state.get("transitions") or []:
                if isinstance(transition, dict) and transition.get("next") in names:
                    edges.append(Edge(state["name"], transition["next"], event_label(transition)))
        return cls(nodes, edges)


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0
    return int(number) if math.isfinite(number) else 0


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 3] + "..."


def _calls(widget_type: str, props: dict[str, Any]) -> str | None:
    """`crm/lookup` or `subflows/lookup-caller` in a symbolic flow; in a compiled one the
    function's host and path (never a query string or user info) or the subflow's SID."""
    if widget_type == "run-function":
        if isinstance(props.get("function"), str):
            return _short(props["function"])
        if isinstance(props.get("url"), str):
            parts = urlsplit(props["url"])
            return _short(f"{parts.hostname or ''}{parts.path}") or None
    if widget_type == "run-subflow":
        for key in ("flow", "flow_sid"):
            if isinstance(props.get(key), str):
                return _short(props[key])
    return None


def event_label(transition: dict[str, Any]) -> str:
    """How a transition is labelled (and named in `Edge.key`): its event, `match: <condition>` for a match."""
    event = str(transition.get("event", ""))
    conditions = transition.get("conditions")
    if event == "match" and isinstance(conditions, list) and conditions and isinstance(conditions[0], dict):
        name = conditions[0].get("friendly_name") or conditions[0].get("value")
        if isinstance(name, str) and name.strip():
            return f"match: {_short(name)}"
    return event


# --------------------------------------------------------------------------- Mermaid

_MERMAID_CLASSES = {
    ADDED: "fill:#dafbe1,stroke:#1a7f37,stroke-width:2px,color:#000",
    CHANGED: "fill:#fff8c5,stroke:#9a6700,stroke-width:2px,color:#000",
    REMOVED: "fill:#ffebe9,stroke:#cf222e,stroke-width:2px,stroke-dasharray:5 3,color:#000",
    UNREACHED: "fill:#f6f8fa,stroke:#8c959f,stroke-width:2px,stroke-dasharray:5 3,color:#57606a",
}
_MERMAID_EDGE_STYLES = {ADDED: "stroke:#1a7f37,stroke-width:2px", REMOVED: "stroke:#cf222e,stroke-width:2px",
                        UNREACHED: "stroke:#8c959f,stroke-width:2px"}


def _mermaid_text(text: str) -> str:
    """Text safe inside a quoted Mermaid label: Mermaid's entity codes for what it would parse."""
    return (text.replace("#", "#35;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
            .replace("|", "#124;"))


def to_mermaid(graph: FlowGraph, marks: NodeMarks | None = None, edge_marks: EdgeMarks | None = None) -> str:
    """A Mermaid flowchart (top to bottom, widgets in canvas order). `marks` colours widgets,
    `edge_marks` transitions (a removed one is dotted); classes are declared only when used."""
    marks, edge_marks = marks or {}, edge_marks or {}
    ids = {node.name: f"w{i}" for i, node in enumerate(_canvas_order(graph.nodes))}
    lines = ["flowchart TD"]
    for node in _canvas_order(graph.nodes):
        second = _mermaid_text(f"{node.type}{': ' + node.calls if node.calls else ''}")
        lines.append(f'    {ids[node.name]}["{_mermaid_text(node.name)}<br/><small>{second}</small>"]')
    styles = []
    for index, edge in enumerate(graph.edges):
        arrow = "-.->" if edge_marks.get(edge.key) in (REMOVED, UNREACHED) else "-->"
        lines.append(f'    {ids[edge.source]} {arrow}|"{_mermaid_text(edge.event)}"| {ids[edge.target]}')
        if edge.key in edge_marks:
            styles.append(f"    linkStyle {index} {_MERMAID_EDGE_STYLES[edge_marks[edge.key]]}")
    lines += styles
    used = [mark for mark in (ADDED, CHANGED, REMOVED, UNREACHED) if mark in marks.values()]
    for mark in used:
        lines.append(f"    classDef {mark} {_MERMAID_CLASSES[mark]}")
        members = ",".join(ids[name] for name in ids if marks.get(name) == mark)
        if members:
            lines.append(f"    class {members} {mark}")
    return "\n".join(lines) + "\n"


def _canvas_order(nodes: list[Node]) -> list[Node]:
    """Top to bottom, then left to right, as a reader scans the canvas."""
    return sorted(nodes, key=lambda node: (node.y, node.x))


# --------------------------------------------------------------------------- DOT


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def to_dot(graph: FlowGraph) -> str:
    """A Graphviz digraph; `pos` holds the canvas offsets (y flipped: Graphviz's y goes up),
    which `neato -n` honours and `dot` ignores in favour of its own layout."""
    lines = ["digraph flow {", '    node [shape=box, style="rounded", fontname="Helvetica"];',
             '    edge [fontname="Helvetica", fontsize=10];']
    for node in graph.nodes:
        label = f"{node.name}\n{node.type}{': ' + node.calls if node.calls else ''}"
        lines.append(f'    "{_dot_text(node.name)}" [label="{_dot_text(label)}", pos="{node.x},{-node.y}"];')
    for edge in graph.edges:
        lines.append(f'    "{_dot_text(edge.source)}" -> "{_dot_text(edge.target)}" [label="{_dot_text(edge.event)}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- SVG

CHAR_WIDTH = 7.5  # px per character of the 13px sans-serif labels, generous so text stays inside its box
BOX_HEIGHT = 48
LINE = 14  # px between the stacked labels of parallel transitions
MIN_BOX_WIDTH = 160
GAP = 40  # px between boxes, at least, after scaling
MAX_SCALE = 3.0
MARGIN = 40


@dataclass(frozen=True)
class _Box:
    node: Node
    x: float  # centre
    y: float
    width: float


def _box_width(node: Node) -> float:
    second = f"{node.type}{': ' + node.calls if node.calls else ''}"
    return max(MIN_BOX_WIDTH, CHAR_WIDTH * max(len(node.name), len(second)) + 24)


def _layout(graph: FlowGraph) -> list[_Box]:
    """Boxes centred on the canvas offsets, scaled by the smallest factor that leaves GAP between
    every two boxes (Studio's own boxes are smaller than ours), at most MAX_SCALE so that two
    widgets placed (nearly) on one spot do not blow the whole picture up; boxes still too close
    (no offsets, hand-placed overlaps) are then moved right, in canvas order, to the first free place."""
    widths = {node.name: _box_width(node) for node in graph.nodes}
    spots = _spots(graph)
    scale = 1.0
    for a, b in combinations(graph.nodes, 2):
        dx, dy = abs(spots[a.name][0] - spots[b.name][0]), abs(spots[a.name][1] - spots[b.name][1])
        need_x = (widths[a.name] + widths[b.name]) / 2 + GAP
        scale = max(scale, min(need_x / dx if dx else math.inf, (BOX_HEIGHT + GAP) / dy if dy else math.inf))
    scale = min(scale, MAX_SCALE)
    placed: list[_Box] = []
    for node in sorted(graph.nodes, key=lambda node: spots[node.name][::-1]):
        x, y, width = spots[node.name][0] * scale, spots[node.name][1] * scale, widths[node.name]
        while hit := next((box for box in placed if abs(box.x - x) < (box.width + width) / 2 + GAP
                           and abs(box.y - y) < BOX_HEIGHT + GAP), None):
            x = hit.x + (hit.width + width) / 2 + GAP
        placed.append(_Box(node, x, y, width))
    return placed


def _spots(graph: FlowGraph) -> dict[str, tuple[int, int]]:
    """The canvas offsets; for a flow without any (all widgets on one spot, as a manifest may
    leave them out) a layered layout instead: a row per step from the first widget, so each
    transition points down and its label sits between rows, not on a box."""
    if len({(node.x, node.y) for node in graph.nodes}) != 1 or len(graph.nodes) < 2:
        return {node.name: (node.x, node.y) for node in graph.nodes}
    depth = {graph.nodes[0].name: 0}
    queue = [graph.nodes[0].name]
    for name in queue:
        for edge in graph.edges:
            if edge.source == name and edge.target not in depth:
                depth[edge.target] = depth[name] + 1
                queue.append(edge.target)
    unreached = max(depth.values()) + 1
    rows: dict[int, list[str]] = {}
    for node in graph.nodes:
        rows.setdefault(depth.get(node.name, unreached), []).append(node.name)
    return {name: (int((i - (len(row) - 1) / 2) * 300), level * 200)
            for level, row in rows.items() for i, name in enumerate(row)}


def _border_point(box: _Box, towards_x: float, towards_y: float) -> tuple[float, float]:
    """Where the line from the box's centre to a point leaves the box."""
    dx, dy = towards_x - box.x, towards_y - box.y
    if dx == 0 and dy == 0:
        return box.x, box.y
    factor = min(box.width / 2 / abs(dx) if dx else math.inf, BOX_HEIGHT / 2 / abs(dy) if dy else math.inf)
    return box.x + dx * factor, box.y + dy * factor


def to_svg(graph: FlowGraph) -> str:
    """A standalone SVG of the canvas: a rounded box per widget (name in bold, type and what it
    calls below), an arrow per pair of widgets labelled with the events of its transitions (one
    per line; a pair wired both ways gets two arrows side by side); a self-transition is a loop
    on the box's right side."""
    boxes = _layout(graph)
    if boxes:
        left = min(b.x - b.width / 2 for b in boxes) - MARGIN
        top = min(b.y - BOX_HEIGHT / 2 for b in boxes) - MARGIN
        right = max(b.x + b.width / 2 for b in boxes) + MARGIN + 80  # room for self-loops' labels
        bottom = max(b.y + BOX_HEIGHT / 2 for b in boxes) + MARGIN
    else:
        left, top, right, bottom = 0.0, 0.0, 200.0, 100.0
    width, height = right - left, bottom - top
    by_name = {box.node.name: box for box in boxes}
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="{left:.0f} {top:.0f} {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#57606a"/></marker></defs>',
        f'<rect x="{left:.0f}" y="{top:.0f}" width="{width:.0f}" height="{height:.0f}" fill="#f6f8fa"/>',
    ]
    labels = []
    events: dict[tuple[str, str], list[str]] = {}  # parallel transitions share one arrow, labels stacked
    for edge in graph.edges:
        events.setdefault((edge.source, edge.target), []).append(edge.event)
    for (source_name, target_name), names in events.items():
        source, target = by_name[source_name], by_name[target_name]
        if source is target:
            x, y = source.x + source.width / 2, source.y
            out.append(f'<path d="M {x:.1f} {y - 10:.1f} C {x + 40:.1f} {y - 30:.1f}, {x + 40:.1f} {y + 30:.1f}, '
                       f'{x:.1f} {y + 10:.1f}" fill="none" stroke="#57606a" marker-end="url(#arrow)"/>')
            labels += [(x + 44, y + 4 + LINE * (i - (len(names) - 1) / 2), "start", name)
                       for i, name in enumerate(names)]
            continue
        x1, y1 = _border_point(source, target.x, target.y)
        x2, y2 = _border_point(target, source.x, source.y)
        if (target_name, source_name) in events:  # a transition back: each arrow to its right, apart
            length = math.hypot(x2 - x1, y2 - y1) or 1
            nx, ny = -(y2 - y1) / length * 6, (x2 - x1) / length * 6
            x1, y1, x2, y2 = x1 + nx, y1 + ny, x2 + nx, y2 + ny
            mx, my = (x1 + x2) / 2 + nx * 3, (y1 + y2) / 2 + ny * 3
        else:
            mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        out.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#57606a" '
                   f'stroke-width="1.5" marker-end="url(#arrow)"/>')
        labels += [(mx, my + 4 + LINE * (i - (len(names) - 1) / 2), "middle", name) for i, name in enumerate(names)]
    for box in boxes:
        node = box.node
        second = f"{node.type}{': ' + node.calls if node.calls else ''}"
        out.append(f'<g><rect x="{box.x - box.width / 2:.1f}" y="{box.y - BOX_HEIGHT / 2:.1f}" '
                   f'width="{box.width:.1f}" height="{BOX_HEIGHT}" rx="6" fill="#ffffff" stroke="#0969da" '
                   f'stroke-width="1.5"/>'
                   f'<text x="{box.x:.1f}" y="{box.y - 4:.1f}" text-anchor="middle" font-size="13" '
                   f'font-weight="bold" fill="#1f2328">{xml_escape(node.name)}</text>'
                   f'<text x="{box.x:.1f}" y="{box.y + 14:.1f}" text-anchor="middle" font-size="11" '
                   f'fill="#57606a">{xml_escape(second)}</text></g>')
    for x, y, anchor, text in labels:  # last, so no box hides a label
        out.append(f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="11" fill="#0550ae" '
                   f'stroke="#f6f8fa" stroke-width="4" paint-order="stroke">{xml_escape(text)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
