"""Pictures of the flows a plan changes, for the markdown of `plan` and `drift`.

A reviewer would rather look at a flow than read it: each changed flow is drawn with its
added, changed and removed widgets and its added and removed transitions marked. The
definitions this needs are in `Planned` (compiled after, live before) and never in a plan
file, as they may hold secrets; what leaves here is only a `FlowGraph` (widget names, types,
offsets, call and event labels, no other property value), drawn from the definitions as
the plan shows them (secret vars masked), with every current secret value masked again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from twideploy.addresses import Address
from twideploy.manifest.references import mask_secret_strings
from twideploy.plan.flowdiff import FLOW
from twideploy.plan.model import Action, Change
from twideploy.plan.planner import Planned, mask_text
from twideploy.render.flowgraph import ADDED, CHANGED, REMOVED, Edge, EdgeMarks, FlowGraph, NodeMarks

_WIDGET_MARK = {"added": ADDED, "removed": REMOVED}


@dataclass(frozen=True)
class FlowPicture:
    """One changed flow: the graph of its new definition plus the widgets and transitions it
    loses (from the live one), and the marks that say which is which."""

    graph: FlowGraph
    marks: NodeMarks
    edge_marks: EdgeMarks


def flow_pictures(planned: Planned) -> dict[str, FlowPicture]:
    """A picture per flow the plan changes, by the change's address (as text). A flow whose
    live definition was not read (one the environment does not manage, deleted with --prune)
    has none."""
    plan, env = planned.plan, planned.desired.env
    secrets = planned.desired.secret_values()
    sources = {Address.flow(flow.name): flow for flow in planned.desired.flows}
    pictures = {}
    for change in plan.actionable:
        source = sources.get(change.address)
        if source is None:
            continue
        found = planned.live.flows.get(source.friendly_name)
        before = found.definition if found is not None and change.action is not Action.CREATE else {}
        if before is None:
            continue
        old, new = (_masked(FlowGraph.from_definition(mask_secret_strings(d, symbolic=source.definition,
                                                                         vars=env.vars)), secrets)
                    for d in (before, planned.compiled[source.name]))
        new = _calls_by_name(new, FlowGraph.from_definition(source.definition))
        pictures[str(change.address)] = picture(old, new, change, include_layout=plan.include_layout)
    return pictures


def picture(old: FlowGraph, new: FlowGraph, change: Change, *, include_layout: bool = False) -> FlowPicture:
    """The picture of `change`, a flow going from the graph `old` to `new`.

    Widgets are marked as the plan's widget lines say (a canvas move counts only with
    `include_layout`, as in the plan); transitions by comparing the two graphs' edges, so a
    rewired one shows as its old arrow removed and its new one added."""
    marks = {w.widget: _WIDGET_MARK.get(w.what, CHANGED) for w in change.widgets
             if w.widget != FLOW and (include_layout or not w.cosmetic)}
    new_edges = {edge.key for edge in new.edges}
    old_edges = {edge.key for edge in old.edges}
    removed_edges = [edge for edge in old.edges if edge.key not in new_edges]
    edge_marks = {edge.key: ADDED for edge in new.edges if edge.key not in old_edges}
    edge_marks.update({edge.key: REMOVED for edge in removed_edges})
    names = {node.name for node in new.nodes}
    removed_nodes = [node for node in old.nodes if node.name not in names]
    return FlowPicture(FlowGraph(new.nodes + removed_nodes, new.edges + removed_edges), marks, edge_marks)


def _calls_by_name(graph: FlowGraph, symbolic: FlowGraph) -> FlowGraph:
    """`graph` (compiled: a subflow's SID, a function's URL) with what each widget calls named as
    the manifests name it (`subflows/lookup-caller`, `crm/lookup`): what a reviewer knows."""
    calls = {node.name: node.calls for node in symbolic.nodes if node.calls}
    return replace(graph, nodes=[replace(node, calls=calls.get(node.name, node.calls)) for node in graph.nodes])


def _masked(graph: FlowGraph, secrets: list[str]) -> FlowGraph:
    """`graph` with every current secret value masked in its labels (a call's URL or a match
    condition may hold one that the manifests do not mark as a secret var there)."""
    if not secrets:
        return graph
    return FlowGraph(
        [replace(n, name=mask_text(n.name, secrets), calls=n.calls and mask_text(n.calls, secrets))
         for n in graph.nodes],
        [Edge(mask_text(e.source, secrets), mask_text(e.target, secrets), mask_text(e.event, secrets))
         for e in graph.edges])
