"""Mermaid's own parser accepts every diagram `to_mermaid` draws.

`mermaid` (with jsdom for the DOM it expects) is pinned in tests/graph/package.json and
installed by .ci/install-mermaid.sh into .ci/tools/mermaid/ (or $TWIDEPLOY_MERMAID_DIR);
tests/graph/mermaid_parse.mjs runs `mermaid.parse` on files. Without node or the installed
parser the test is skipped with a reason, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import NoReturn

import pytest

from tests.e2e.helpers import edit_yaml, run
from tests.example import REPO, copy_example
from twideploy.emulator import Emulator, account_sid_for
from twideploy.manifest import load_project
from twideploy.render.flowgraph import Edge, FlowGraph, Node, to_mermaid

HERE = Path(__file__).resolve().parent


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; under CI it is required")
    pytest.skip(reason)


def parse(folder: Path, diagrams: dict[str, str]) -> dict[str, dict]:
    """Each diagram's result from Mermaid's parser, by name."""
    if shutil.which("node") is None:
        unavailable("node is not installed")
    modules = Path(os.environ.get("TWIDEPLOY_MERMAID_DIR") or REPO / ".ci" / "tools" / "mermaid") / "node_modules"
    installed = modules / "mermaid" / "package.json"
    pinned = json.loads((HERE / "package.json").read_text())["dependencies"]["mermaid"]
    if not installed.is_file() or json.loads(installed.read_text())["version"] != pinned:
        unavailable(f"mermaid@{pinned} is not installed in {modules.parent}: run `bash .ci/install-mermaid.sh`")
    for name, text in diagrams.items():
        (folder / f"{name}.mmd").write_text(text)
    done = subprocess.run(["node", str(HERE / "mermaid_parse.mjs"), str(modules),
                           *(str(folder / f"{name}.mmd") for name in diagrams)],
                          capture_output=True, text=True, timeout=120)
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(results) == len(diagrams), done.stderr
    return {Path(r["file"]).stem: r for r in results}


def test_mermaid_parses_every_drawing(tmp_path):
    diagrams = {}
    for source in load_project(REPO).flows.values():
        graph = FlowGraph.from_definition(source.definition)
        names = [node.name for node in graph.nodes]
        marks = {names[0]: "added", names[1]: "changed", names[-1]: "removed"}
        edge_marks = {graph.edges[0].key: "removed", graph.edges[-1].key: "added"}
        diagrams[source.name.replace("/", "_")] = to_mermaid(graph, marks, edge_marks)
        diagrams[source.name.replace("/", "_") + "_plain"] = to_mermaid(graph)
    hostile = ['x"]|<b>#;', "end", "a --> b", "{{trigger.call.From}}", "%% c", "`tick` &amp; [1]", "(é) ü"]
    nodes = [Node(f"n{i}", "run-subflow", 0, i * 200, text) for i, text in enumerate(hostile)]
    edges = [Edge(f"n{i}", f"n{i + 1}", f"match: {text}") for i, text in enumerate(hostile[:-1])]
    diagrams["hostile"] = to_mermaid(FlowGraph(nodes, edges), {"n0": "removed"}, {edges[0].key: "removed"})
    diagrams["empty"] = to_mermaid(FlowGraph())
    diagrams["broken"] = "flowchart TD\n    w0[\"x\" -->\n"  # the parser does reject what is wrong
    results = parse(tmp_path, diagrams)
    assert not results.pop("broken")["ok"]
    assert {name: (r["ok"], r.get("type"), r.get("error")) for name, r in results.items()} == {
        name: (True, "flowchart-v2", None) for name in results}


def test_mermaid_parses_the_pictures_of_a_plan_comment(tmp_path, monkeypatch):
    """The pictures `plan --format markdown` puts in a comment (a flow with a widget added, one
    removed, one changed and a transition rewired), as GitHub would take them from the comment."""
    project = copy_example(tmp_path / "project")
    with Emulator(tmp_path / "emulator.sqlite", account_sid=account_sid_for("local")) as emulator:
        monkeypatch.setenv("TWIDEPLOY_EMULATOR_URL", emulator.base_url)
        monkeypatch.setenv("TWIDEPLOY_EMULATOR_ACCOUNT_SID", emulator.account_sid)
        assert run(project, "apply", "--env", "local", "--auto-approve")[0] == 0

        def rewire(flow: dict) -> None:
            states = [s for s in flow["states"] if s["name"] != "goodbye"]
            states.append({"name": "farewell", "type": "say-play", "properties": {"say": "Bye."}, "transitions": []})
            for state in states:
                for transition in state.get("transitions", []):
                    if transition.get("next") == "goodbye":
                        transition["next"] = "farewell"
                if state["name"] == "invalid_choice":
                    state["properties"]["say"] = "Sorry, I did not catch that."
            flow["states"] = states

        edit_yaml(project / "flows/ivr-main.yaml", rewire)
        code, markdown = run(project, "plan", "--env", "local", "--format", "markdown")
    assert code == 0, markdown
    blocks = re.findall(r"```mermaid\n(.*?)```", markdown, re.S)
    assert blocks and all("class " in block for block in blocks)
    results = parse(tmp_path, {f"plan{i}": block for i, block in enumerate(blocks)})
    assert [(r["ok"], r.get("error")) for r in results.values()] == [(True, None)] * len(blocks)


def test_mermaid_parses_the_coverage_pictures_of_a_flow_test_report(tmp_path):
    """`twideploy test --format markdown` draws what no scenario reached, greyed and dashed."""
    code, markdown = run(copy_example(tmp_path / "project"), "test", "--format", "markdown", "-k", "HOURS")
    assert code == 0, markdown
    blocks = re.findall(r"```mermaid\n(.*?)```", markdown, re.S)
    assert blocks and all("class " in block and "-.->" in block for block in blocks)
    results = parse(tmp_path, {f"coverage{i}": block for i, block in enumerate(blocks)})
    assert [(r["ok"], r.get("error")) for r in results.values()] == [(True, None)] * len(blocks)
