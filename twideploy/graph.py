"""The application layer of `twideploy graph`: a flow of the manifests as a FlowGraph.

Without an environment the graph is of the symbolic flow, so a Run Function widget shows the
function it names (`crm/lookup`) and a Run Subflow the flow (`subflows/lookup-caller`). With
one, references are compiled against that environment's live account, as a plan compiles them,
so the widgets show what they call there: `crm/lookup -> <host>/lookup`, the subflow's SID.
Secret vars are compiled as the mask: a graph carries only labels, and none of them may ever
be a secret.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from twideploy.errors import TwideployError
from twideploy.manifest import FlowSource, Project, compile_flow, load_project
from twideploy.plan.desired import Desired
from twideploy.plan.planner import address_book, read_live
from twideploy.render.flowgraph import FlowGraph
from twideploy.secrets import MASK, Secret
from twideploy.workspace import open_workspace


def find_flow(project: Project, name: str) -> FlowSource:
    """A flow by its name in the manifests (`ivr-main`, `subflows/lookup-caller`) or its friendly name."""
    if name in project.flows:
        return project.flows[name]
    for source in project.flows.values():
        if source.friendly_name == name:
            return source
    known = ", ".join(sorted(project.flows)) or "none"
    raise TwideployError(f"unknown flow {name!r} (flows: {known})")


def flow_graph(root: Path, flow: str, env_name: str | None = None) -> FlowGraph:
    if env_name is None:
        return FlowGraph.from_definition(find_flow(load_project(root), flow).definition)
    with open_workspace(root, env_name) as ws:
        source = find_flow(ws.project, flow)
        desired = Desired(ws.project, ws.env)
        book = address_book(desired, read_live(ws.gateway, desired, ws.content_cache(), lazy=True))
    shown_vars = {name: MASK if isinstance(value, Secret) else value for name, value in ws.env.vars.items()}
    compiled = FlowGraph.from_definition(compile_flow(source.definition, vars=shown_vars, book=book))
    symbolic = {node.name: node.calls for node in FlowGraph.from_definition(source.definition).nodes}
    return FlowGraph([replace(node, calls=f"{symbolic[node.name]} -> {node.calls}")
                      if node.calls and symbolic.get(node.name) else node for node in compiled.nodes],
                     compiled.edges)
