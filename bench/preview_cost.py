"""The requests one `twideploy preview` and one `preview --clear` cost on the example project.

    python bench/preview_cost.py [--latency-ms 100] [--tmp-dir DIR]

1. Writes the example project (`twideploy init`) to a temporary folder and starts an
   in-process Emulator on a temporary SQLite file, seeded with the numbers of `--env local`.
2. Applies it at latency 0 (`twideploy.deploy.apply`), then edits ivr-main's goodbye text and
   `crm/lookup.js` on disk: the pull request under review.
3. Sets `--latency-ms` per request and runs, through the real engine
   (`twideploy.preview.preview` / `clear`), for one tester:
     preview         the pull request's first preview
     preview again   the same label again (a new push to the pull request: the preview is
                     cleared, then made again)
     clear           the pull request closed
   For each it reads the emulator's request counters (`Emulator.stats()`, per method and per
   route) before and after, and times it. Between the steps, outside the counted windows, it
   checks what the issue promises: callers keep the published revisions and the number
   bindings, the testers reach the drafts, and the clear leaves the account as before the
   preview (published definitions, Test Users, Serverless environments, bindings).

The requests are the same at any latency; the wall times are those of `--latency-ms`
(default 100 ms, about a Twilio round trip from a CI runner in Europe).
"""

from __future__ import annotations

import argparse
import datetime
import platform
import shlex
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ENV = "local"
TESTER = "+15551230001"
LABEL = "pr-42"
GOODBYE = ("Thank you for calling Acme. Goodbye.", "Thanks for calling Acme. Goodbye!")
LOOKUP = ("tier: 'standard' }", "tier: 'basic' }")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    if old not in text:
        raise SystemExit(f"{path}: {old!r} not found: the example project changed, update this benchmark")
    path.write_text(text.replace(old, new, 1))


def snapshot(gw: Any, emu: Any, numbers: list[str]) -> dict[str, Any]:
    """What callers and testers meet, read outside the measured windows."""
    client = gw.client
    flows = {}
    for flow in client.studio.v2.flows.list():
        published = client.studio.v2.flows(flow.sid).revisions("LatestPublished").fetch()
        flows[flow.friendly_name] = {
            "published_definition": published.definition,
            "test_users": client.studio.v2.flows(flow.sid).test_users().fetch().test_users,
            "caller_runs": emu.reached_revision(flow.sid, "+15559990000")["status"],
            "tester_runs": emu.reached_revision(flow.sid, TESTER)["status"],
        }
    environments = sorted(e.unique_name for s in client.serverless.v1.services.list()
                          for e in client.serverless.v1.services(s.sid).environments.list())
    bindings = {n.phone_number: (n.voice_url, n.sms_url, n.voice_fallback_url)
                for n in client.api.v2010.accounts(gw.account_sid).incoming_phone_numbers.list()
                if n.phone_number in numbers}
    return {"flows": flows, "environments": environments, "bindings": bindings}


def measured(emu: Any, gw: Any, work) -> tuple[Any, dict[str, Any]]:
    before, client_before = emu.stats(), gw.requests_made
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    after = emu.stats()
    delta = lambda key: Counter(after[key]) - Counter(before[key])  # noqa: E731
    return result, {"seconds": seconds, "total": after["total"] - before["total"],
                    "client": gw.requests_made - client_before, "by_method": delta("by_method"),
                    "by_route": delta("by_route")}


def check(condition: bool, what: str) -> None:
    print(f"  {'ok ' if condition else 'FAILED'} {what}")
    if not condition:
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=100)
    parser.add_argument("--tmp-dir", default="/dev/shm" if Path("/dev/shm").is_dir() else None)
    args = parser.parse_args()

    from twideploy import preview as previews
    from twideploy.cli.init import init_project
    from twideploy.deploy import ApplyOptions, apply
    from twideploy.emulator import Emulator, FaultConfig, account_sid_for
    from twideploy.manifest import load_project
    from twideploy.secrets import Secret
    from twideploy.twilio_api.gateway import Credentials, Gateway
    from twideploy.workspace import Workspace

    print(f"$ python {shlex.join(sys.argv)}")
    print(f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}; "
          f"python {platform.python_version()} on {platform.system()} {platform.machine()}; "
          f"latency {args.latency_ms:g} ms/request")
    with tempfile.TemporaryDirectory(prefix="twideploy-preview-bench-", dir=args.tmp_dir) as tmp:
        root = Path(tmp) / "project"
        init_project(root)
        with Emulator(Path(tmp) / "emulator.sqlite", account_sid=account_sid_for(ENV)) as emu:
            project = load_project(root)
            env = project.environment(ENV)
            emu.seed_numbers(list(env.numbers))
            gw = Gateway(Credentials(emu.account_sid, emu.account_sid, Secret(emu.auth_token)), base_url=emu.base_url)
            _, outcome = apply(Workspace(project, env, gw), ApplyOptions())
            print(f"setup: the example project applied to {ENV} ({outcome.writes if outcome else 0} writes), then "
                  f"edited: ivr-main's goodbye text and crm/lookup.js")
            edit(root / "flows" / "ivr-main.yaml", *GOODBYE)
            edit(root / "functions" / "crm" / "functions" / "lookup.js", *LOOKUP)
            project = load_project(root)
            ws = Workspace(project, project.environment(ENV), gw)
            numbers = list(env.numbers)
            published = snapshot(gw, emu, numbers)

            emu.set_faults(FaultConfig(latency_ms=args.latency_ms))
            rows = []
            for name in ("preview", "preview again"):
                result, stats = measured(emu, gw, lambda: previews.preview(
                    ws, label=LABEL, testers=[TESTER], git_sha=None))
                rows.append((name, stats))
                emu.set_faults(FaultConfig())
                live = snapshot(gw, emu, numbers)
                print(f"{name}: {', '.join(f.name for f in result.flows)} drafted, "
                      f"{', '.join(result.functions) or 'no function'} in preview-{LABEL}")
                check(all(live["flows"][f]["published_definition"] == published["flows"][f]["published_definition"]
                          for f in published["flows"]), "published definitions unchanged")
                check(live["bindings"] == published["bindings"], "number bindings unchanged")
                check(all(live["flows"][f.friendly_name]["tester_runs"] == "draft"
                          and live["flows"][f.friendly_name]["caller_runs"] == "published" for f in result.flows),
                      "the tester reaches the drafts, any other caller the published revisions")
                emu.set_faults(FaultConfig(latency_ms=args.latency_ms))
            _, stats = measured(emu, gw, lambda: previews.clear(ws, label=LABEL))
            rows.append(("clear", stats))
            emu.set_faults(FaultConfig())
            check(snapshot(gw, emu, numbers) == published,
                  "after the clear: published definitions, Test Users, Serverless environments and bindings "
                  "as before the preview")
    report(rows)


VALIDATE = "POST /v2/Flows/Validate"  # a POST that changes nothing: Studio's verdict before the first write


def writes(stats: dict[str, Any]) -> int:
    return stats["by_method"].get("POST", 0) + stats["by_method"].get("DELETE", 0) - stats["by_route"].get(VALIDATE, 0)


def report(rows: list[tuple[str, dict[str, Any]]]) -> None:
    methods = sorted({m for _, s in rows for m in s["by_method"]})
    header = ["", "requests", *methods, "writes", "wall time"]
    table = [header] + [[name, str(s["total"]), *(str(s["by_method"].get(m, 0)) for m in methods),
                         str(writes(s)),
                         f"{s['seconds']:.2f} s"] for name, s in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    print()
    for k, row in enumerate(table):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))
        if k == 0:
            print("  ".join("-" * w for w in widths))
    print(f"writes: POST and DELETE requests, less {VALIDATE} (checks a definition, changes nothing)")
    mismatched = [name for name, s in rows if s["client"] != s["total"]]
    if mismatched:
        print(f"note: the client counted other totals for {', '.join(mismatched)} (retries)")
    for name, s in rows:
        print(f"\n{name}, by route:")
        for route, count in sorted(s["by_route"].items(), key=lambda item: (item[0].split()[1], item[0])):
            print(f"  {count:3d}  {route}")


if __name__ == "__main__":
    main()
