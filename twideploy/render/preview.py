"""What `twideploy preview` will do and did, and what `--clear` did, for people."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from twideploy import preview as previews
from twideploy.preview import ClearResult, PreviewResult


def render_preview_plan(out: Console, result: PreviewResult) -> None:
    """Before the confirmation: what goes into the preview, for whom."""
    out.print(f"twideploy preview {result.label} on {result.environment}, for {', '.join(result.testers)}")
    for flow in result.flows:
        out.print(f"  ~ flow.{flow.name}: a draft of the manifests; callers keep published revision "
                  f"{flow.published_revision}")
    for function in result.changed_functions:
        out.print(f"  + function {function}: deployed to Serverless environment "
                  f"{previews.environment_name(result.label)} only (its other environments are not touched)")
    for line in result.left_out:
        out.print(f"  [dim]not previewed: {escape(line)}[/]")


def render_preview(out: Console, result: PreviewResult) -> None:
    if result.cancelled:
        out.print("Preview cancelled; nothing was changed.")
        return
    if result.replaced is not None:
        render_clear(out, result.replaced)
    if result.preview_id is None:
        out.print(f"Nothing to preview: no flow of {result.environment} differs from its published revision "
                  f"or runs a changed Function.")
        for line in result.left_out:
            out.print(f"  [dim]not previewed: {escape(line)}[/]")
        return
    out.print(f"[bold green]Preview {result.label} is live[/] on {result.environment} (preview {result.preview_id}, "
              f"{result.writes} write(s)), for {', '.join(result.testers)} only:")
    for flow in result.flows:
        out.print(f"  flow {flow.name}: draft revision {flow.draft_revision}; everyone else still runs published "
                  f"revision {flow.published_revision}")
    for function, url in sorted(result.functions.items()):
        out.print(f"  function {function}: {url} (Serverless environment {previews.environment_name(result.label)})")
    for line in result.left_out:
        out.print(f"  [dim]not previewed: {escape(line)}[/]")
    ways = [way for flow in result.flows for way in flow.try_it]
    if ways:
        out.print(f"Try it: {' or '.join(ways)} from a tester's phone ({', '.join(result.testers)}).")
    else:
        out.print("No number of this environment answers with these flows directly; reach them through the flows "
                  "that run them.")
    out.print(f"End it with: twideploy preview --env {result.environment} --clear")


def render_clear(out: Console, result: ClearResult) -> None:
    for line in result.report:
        out.print(f"  {line}")
