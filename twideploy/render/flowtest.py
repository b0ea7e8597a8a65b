"""`twideploy test` results for people (text), machines (JSON), pull requests (markdown) and CI (JUnit XML).

A failed scenario shows its first divergence, then what the flow actually did: the path and
the rendered effects (what was said, sent, dialled), so the reader sees the wrong turn and the
words the caller would have heard. Coverage lists, per flow, the widgets and transitions no
scenario reached; markdown draws them on the flow's Mermaid picture, greyed and dashed.
The results are already masked (`flowtest.runner`): nothing here can print a secret.
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree

from twideploy.flowtest.runner import ERROR, FAILED, PASSED, FlowCoverage, ScenarioResult, TestReport
from twideploy.render.flowgraph import UNREACHED, to_mermaid

_SYMBOLS = {PASSED: "PASS", FAILED: "FAIL", ERROR: "ERROR"}
_EFFECT_TEXT_KEYS = ("say", "body", "to", "play", "attributes", "url")  # what an effect is summed up by


def summary(report: TestReport) -> str:
    parts = [f"{report.count(PASSED)} passed"]
    parts += [f"{report.count(status)} {status}" for status in (FAILED, ERROR) if report.count(status)]
    return f"{', '.join(parts)} in {report.seconds:.2f} s"


def _percent(done: int, total: int) -> str:
    return f"{done}/{total} ({100 * done // total if total else 100}%)"


def _widget_coverage(cover: FlowCoverage) -> str:
    total = len(cover.graph.nodes)
    return _percent(total - len(cover.missed_widgets), total)


def _transition_coverage(cover: FlowCoverage) -> str:
    total = len(cover.graph.edges)
    return _percent(total - len(cover.missed_transitions), total)


def _edge(key: tuple[str, str, str]) -> str:
    source, event, target = key
    return f"{source} --{event}--> {target}"


def _effect_line(effect: dict[str, Any]) -> str:
    shown = {k: effect[k] for k in _EFFECT_TEXT_KEYS if effect.get(k) not in (None, "")}
    details = ", ".join(f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in shown.items())
    return f"{effect['widget']} ({effect['type']})" + (f" {details}" if details else "")


def _details(result: ScenarioResult) -> list[str]:
    """What the flow did, for a scenario that did not pass."""
    lines = [f"  actual path: {' -> '.join(result.path) or '(none)'}"]
    if result.event is not None:
        lines.append(f"  last event:  {result.event}")
    lines += [f"  effect: {_effect_line(effect)}" for effect in result.effects]
    lines += [f"  http: {call}" for call in result.http_calls]
    lines += [f"  log: {line}" for line in result.logs]
    return lines


def render_text(report: TestReport) -> str:
    lines: list[str] = []
    for result in report.results:
        lines.append(f"{_SYMBOLS[result.status]:5} {result.flow}: {result.name}  ({result.file}:{result.line})")
        if result.status != PASSED:
            lines += [f"  {line}" for line in result.message.splitlines()]
            lines += _details(result)
    lines += ["", "Coverage (widgets, transitions reached):"]
    for cover in report.coverage:
        lines.append(f"  {cover.flow}: widgets {_widget_coverage(cover)}, transitions {_transition_coverage(cover)}")
        if cover.missed_widgets:
            lines.append(f"    widgets not reached: {', '.join(cover.missed_widgets)}")
        lines += [f"    transition not taken: {_edge(key)}" for key in cover.missed_transitions]
    lines += ["", summary(report)]
    return "\n".join(lines) + "\n"


def _result_dict(result: ScenarioResult) -> dict[str, Any]:
    return {"id": result.id, "file": result.file, "line": result.line, "flow": result.flow, "name": result.name,
            "env": result.env, "status": result.status, "message": result.message, "path": result.path,
            "event": result.event, "stopped": result.stopped, "effects": result.effects,
            "variables": result.variables, "http_calls": result.http_calls, "logs": result.logs,
            "seconds": round(result.seconds, 4)}


def render_json(report: TestReport) -> str:
    return json.dumps({
        "version": 1,
        "ok": report.ok,
        "counts": {status: report.count(status) for status in (PASSED, FAILED, ERROR)},
        "seconds": round(report.seconds, 3),
        "scenarios": [_result_dict(result) for result in report.results],
        "coverage": [{
            "flow": cover.flow,
            "widgets": len(cover.graph.nodes),
            "widgets_reached": len(cover.graph.nodes) - len(cover.missed_widgets),
            "transitions": len(cover.graph.edges),
            "transitions_taken": len(cover.graph.edges) - len(cover.missed_transitions),
            "missed_widgets": cover.missed_widgets,
            "missed_transitions": [dict(zip(("from", "event", "to"), key, strict=True))
                                   for key in cover.missed_transitions],
        } for cover in report.coverage],
    }, indent=2)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def render_markdown(report: TestReport) -> str:
    icon = "✅" if report.ok else "❌"
    lines = [f"### {icon} twideploy test: {summary(report)}", "", "| | flow | scenario |", "|---|---|---|"]
    for result in report.results:
        lines.append(f"| {_SYMBOLS[result.status]} | {_md(result.flow)} | {_md(result.name)} |")
    for result in (r for r in report.results if r.status != PASSED):
        lines += ["", f"#### {_SYMBOLS[result.status]} {result.flow}: {result.name}", "",
                  f"`{result.file}:{result.line}`", "", "```", result.message, *_details(result), "```"]
    lines += ["", "### Coverage", "", "| flow | widgets | transitions |", "|---|---|---|"]
    for cover in report.coverage:
        lines.append(f"| {_md(cover.flow)} | {_widget_coverage(cover)} | {_transition_coverage(cover)} |")
    for cover in report.coverage:
        if not cover.missed_widgets and not cover.missed_transitions:
            continue
        marks = {name: UNREACHED for name in cover.missed_widgets}
        edge_marks = {key: UNREACHED for key in cover.missed_transitions}
        lines += ["", f"<details><summary>{cover.flow}: not reached (dashed, grey)</summary>", "",
                  "```mermaid", to_mermaid(cover.graph, marks, edge_marks).rstrip("\n"), "```", "", "</details>"]
    return "\n".join(lines) + "\n"


def render_junit(report: TestReport) -> str:
    """JUnit XML: one testsuite per scenario file, one testcase per scenario (CI test reports)."""
    suites = ElementTree.Element("testsuites", name="twideploy test", tests=str(len(report.results)),
                                 failures=str(report.count(FAILED)), errors=str(report.count(ERROR)),
                                 time=f"{report.seconds:.3f}")
    by_file: dict[str, list[ScenarioResult]] = {}
    for result in report.results:
        by_file.setdefault(result.file, []).append(result)
    for file, results in by_file.items():
        suite = ElementTree.SubElement(
            suites, "testsuite", name=file, tests=str(len(results)),
            failures=str(sum(r.status == FAILED for r in results)), errors=str(sum(r.status == ERROR for r in results)),
            time=f"{sum(r.seconds for r in results):.3f}")
        for result in results:
            case = ElementTree.SubElement(suite, "testcase", classname=result.flow, name=result.name, file=file,
                                          line=str(result.line), time=f"{result.seconds:.3f}")
            if result.status != PASSED:
                tag = "failure" if result.status == FAILED else "error"
                problem = ElementTree.SubElement(case, tag, message=result.message.splitlines()[0] if result.message
                                                 else result.status)
                problem.text = "\n".join([result.message, *_details(result)])
    ElementTree.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, encoding="unicode") + "\n"
