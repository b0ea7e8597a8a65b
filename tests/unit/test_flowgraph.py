"""FlowGraph: the shape of a flow and nothing else, and its three drawings.

A graph goes into plans and pull-request comments, so it must hold no property value but the
labels it is made of; the SVG must place boxes where the canvas has them without overlaps.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from itertools import combinations

from tests.example import REPO
from twideploy.manifest import load_project
from twideploy.render.flowgraph import (
    BOX_HEIGHT,
    Edge,
    FlowGraph,
    Node,
    to_dot,
    to_mermaid,
    to_svg,
)

SECRET = "s3cret-value-4711"


def _definition() -> dict:
    return {"states": [
        {"name": "Trigger", "type": "trigger", "properties": {"offset": {"x": 0, "y": 0}},
         "transitions": [{"event": "incomingCall", "next": "menu"}, {"event": "incomingMessage"}]},
        {"name": "menu", "type": "gather-input-on-call",
         "properties": {"say": f"Press 1 {SECRET}", "offset": {"x": 0, "y": 200}},
         "transitions": [{"event": "keypress", "next": "route"}, {"event": "timeout", "next": "menu"}]},
        {"name": "route", "type": "split-based-on", "properties": {"input": SECRET, "offset": {"x": 0, "y": 400}},
         "transitions": [{"event": "noMatch", "next": "gone"},
                         {"event": "match", "next": "lookup",
                          "conditions": [{"friendly_name": "1", "arguments": [SECRET], "type": "equal_to",
                                          "value": "1"}]}]},
        {"name": "lookup", "type": "run-function",
         "properties": {"url": f"https://user:{SECRET}@crm-1.twil.io/lookup?token={SECRET}",
                        "parameters": [{"key": "k", "value": SECRET}], "offset": {"x": 300, "y": 600}},
         "transitions": [{"event": "success"}]},
    ]}


def test_nodes_and_edges_carry_names_types_offsets_calls_and_event_labels():
    graph = FlowGraph.from_definition(_definition())
    assert graph.nodes[3] == Node("lookup", "run-function", 300, 600, "crm-1.twil.io/lookup")
    assert [e.key for e in graph.edges] == [
        ("Trigger", "incomingCall", "menu"), ("menu", "keypress", "route"), ("menu", "timeout", "menu"),
        ("route", "match: 1", "lookup")]  # no `next` (flow ends) or an unknown widget: no edge


def test_a_graph_never_carries_a_property_value():
    graph = FlowGraph.from_definition(_definition())
    for drawing in (repr(graph), to_mermaid(graph), to_svg(graph), to_dot(graph)):
        assert SECRET not in drawing


def test_symbolic_references_label_what_a_widget_calls():
    graph = FlowGraph.from_definition(load_project(REPO).flows["ivr-main"].definition)
    calls = {node.name: node.calls for node in graph.nodes if node.calls}
    assert calls == {"lookup_caller": "crm/lookup", "caller_details": "subflows/lookup-caller"}
    assert Edge("route_digits", "sales", "match: 1: sales") in graph.edges


def test_mermaid_marks_widgets_and_transitions():
    graph = FlowGraph.from_definition(_definition())
    text = to_mermaid(graph, {"route": "changed", "lookup": "added", "gone": "removed"},
                      {("menu", "timeout", "menu"): "removed", ("route", "match: 1", "lookup"): "added"})
    lines = text.splitlines()
    ids = {name: line.split("[")[0].strip() for line in lines for name in ("route", "lookup")
           if f'["{name}<br/>' in line}
    assert f"    class {ids['route']} changed" in lines
    assert f"    class {ids['lookup']} added" in lines
    assert not any(line.startswith("    class ") and line.endswith(" removed") for line in lines)  # no such widget
    assert "    linkStyle 2 stroke:#cf222e,stroke-width:2px" in lines
    assert [line for line in lines if "-.->" in line] == ['    w1 -.->|"timeout"| w1']  # menu
    assert "    linkStyle 3 stroke:#1a7f37,stroke-width:2px" in lines
    assert "classDef" not in to_mermaid(graph)  # no marks, no legend classes


def test_mermaid_labels_escape_what_mermaid_would_parse():
    graph = FlowGraph([Node("a", "run-subflow", 0, 0, 'x"]|<b>#;'), Node("b", "say-play", 0, 200)],
                      [Edge("a", "b", 'match: "|]-->')])
    text = to_mermaid(graph)
    assert 'x#quot;]#124;#lt;b#gt;#35;;' in text
    assert '|"match: #quot;#124;]--#gt;"|' in text


def _boxes(svg: str) -> list[tuple[float, float, float, float]]:
    ns = "{http://www.w3.org/2000/svg}"
    return [(float(r.get("x")), float(r.get("y")), float(r.get("width")), float(r.get("height")))
            for r in ET.fromstring(svg).iter(f"{ns}rect") if r.get("rx")]


def _overlap(a, b) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def test_svg_is_xml_with_every_widget_and_no_overlapping_boxes():
    for source in load_project(REPO).flows.values():
        graph = FlowGraph.from_definition(source.definition)
        svg = to_svg(graph)
        texts = {t.text for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")}
        assert {node.name for node in graph.nodes} <= texts
        boxes = _boxes(svg)
        assert len(boxes) == len(graph.nodes) and all(h == BOX_HEIGHT for *_, h in boxes)
        assert not [pair for pair in combinations(boxes, 2) if _overlap(*pair)], source.name
        assert not [(label, box) for label in _label_boxes(svg) for box in boxes if _overlap(label, box)]


def test_svg_spreads_widgets_without_offsets_and_close_neighbours():
    nodes = [Node(f"w{i}", "say-play", 0, 0) for i in range(4)] + [Node("near", "send-message", 10, 5)]
    svg = to_svg(FlowGraph(nodes, []))
    assert not [pair for pair in combinations(_boxes(svg), 2) if _overlap(*pair)]


def test_svg_and_dot_escape_text():
    graph = FlowGraph([Node("a", "run-subflow", 0, 0, 'F<&>"\\'), Node("b", "x", 0, 200)], [Edge("a", "b", '<"e">')])
    ET.fromstring(to_svg(graph))  # well-formed
    assert '"a" [label="a\\nrun-subflow: F<&>\\"\\\\"' in to_dot(graph)
    assert '"a" -> "b" [label="<\\"e\\">"];' in to_dot(graph)


def _labels(svg: str) -> dict[str, tuple[float, float]]:
    return {t.text: (float(t.get("x")), float(t.get("y"))) for t in ET.fromstring(svg).iter(
        "{http://www.w3.org/2000/svg}text") if t.get("font-weight") is None and t.get("fill") == "#0550ae"}


def test_svg_labels_of_parallel_and_opposite_transitions_do_not_overprint():
    nodes = [Node("a", "x", 0, 0), Node("b", "x", 0, 200)]
    edges = [Edge("a", "b", "completed"), Edge("a", "b", "failed"), Edge("b", "a", "retry")]
    spots = list(_labels(to_svg(FlowGraph(nodes, edges))).values())
    assert len(spots) == 3
    assert all(abs(p[1] - q[1]) >= 12 or abs(p[0] - q[0]) >= 30 for p, q in combinations(spots, 2))


def test_svg_of_widgets_placed_almost_on_one_spot_stays_canvas_sized():
    nodes = [Node("a", "say-play", 0, 0), Node("b", "say-play", 10, 5), Node("c", "say-play", 0, 1000)]
    svg = to_svg(FlowGraph(nodes, []))
    assert not [pair for pair in combinations(_boxes(svg), 2) if _overlap(*pair)]
    assert float(ET.fromstring(svg).get("height")) < 3 * 1000 + 2 * BOX_HEIGHT + 200  # not 17 times the canvas


def _label_boxes(svg: str) -> list[tuple[float, float, float, float]]:
    """Approximate extents of the transition labels (11px text, anchored in the middle)."""
    return [(x - len(text) * 3.2, y - 10, len(text) * 6.4, 12) for text, (x, y) in _labels(svg).items()]


def test_svg_of_a_flow_without_offsets_is_laid_out_in_rows_with_labels_off_the_boxes():
    texts = ['x"]|<b>#;', "end", "a --> b", "{{trigger.call.From}}", "%% c", "`tick` &amp; [1]", "(é) ü"]
    nodes = [Node(f"n{i}", "run-subflow", 0, 0, text) for i, text in enumerate(texts)]
    edges = [Edge(f"n{i}", f"n{i + 1}", f"match: {text}") for i, text in enumerate(texts[:-1])]
    svg = to_svg(FlowGraph(nodes, edges))
    boxes = _boxes(svg)
    assert sorted(y for _, y, _, _ in boxes) == [y for _, y, _, _ in boxes]  # one row per step, in order
    assert not [pair for pair in combinations(boxes, 2) if _overlap(*pair)]
    assert not [(label, box) for label in _label_boxes(svg) for box in boxes if _overlap(label, box)]
