"""How long `twideploy apply` (and its rollback) takes on the large project, against a lower bound.

    python bench/apply_benchmark.py [--latency-ms 100] [--flows 200] [--numbers 1000]
                                    [--services 10] [--functions 10] [--parallelism 16] [--tmp-dir DIR]
                                    [--state local|account]

It uses plan_benchmark's project (200 flows, a fifth of them subflows the others run, every
flow running a function; 10 services of 10 functions; 1,000 number bindings) and an in-process
emulator at `--latency-ms` per request, and measures, one after the other:

1. initial: `twideploy.deploy.apply` from an empty account (the numbers seeded).
2. no-op: apply again: it must make 0 writes.
3. 10 edits: two flows, a subflow, a new flow with two numbers rebound to it, the code of two
   functions (two builds), a changed and a new variable; the apply is timed, and
4. rollback: the same apply again with its last write failing (gateway with one attempt per
   request, so the 500 is final): apply's own rollback is timed from its "rolling back".
5. cold vs warm plan: requests of a plan without and with the content cache.

`--state account` keeps the environment's journals, lock and content hashes in the emulator
account's Sync (docs/state.md): every journal line is then a Sync request, and the table's
requests count them (they are not writes to the account's resources).

For each: wall time, writes and requests to the account's resources (emulator counts, less
the Sync requests of `--state account`, in a column of their own), the most requests in flight
(counted around the gateway's HTTP session), and a lower bound on round trips at
`--parallelism` requests in flight:

    plan phase:   rounds >= max(D_plan, ceil(N_plan / C))   (N_plan: requests before the writes)
    write phase:  rounds >= max(D_write, ceil(N_write / C))
    rollback:     rounds >= max(D_undo, ceil(N_undo / C))
    bound = rounds x latency

D_plan is plan_benchmark's read depth (1 when the account is empty: three lists). D_write is
1 (Studio validates the flows first) plus the critical path of the write tasks (as
`plan.scheduler` gets them from the providers), each weighted by the requests it makes one
after the other: a function create and its upload 2, a build 3 (create, status, deployment),
anything else 1. D_undo sums, over the undo waves (`plan.executor.undo_waves`) of the
journalled writes, the most requests an undo of the wave makes one after the other
(`UNDO_ROUNDS`). Only round trips are counted, no CPU time.

Run against an older engine (`PYTHONPATH=/tmp/before python bench/apply_benchmark.py`, a
worktree of an earlier commit), the engine's task graph may not exist: then no bound is
printed, and the one this engine computes for the same project applies.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from plan_benchmark import (
    ACCOUNT_SID,
    ENV,
    _gateway,
    _InFlight,
    add_project_arguments,
    flow_document,
    flow_name,
    function_code,
    generate_project,
    is_subflow,
    number,
)

NEW_FLOW = "bench-new"
#: With state: account the Nth write counted by the emulator may be a journal append (their
#: number varies with how lines share appends), so the failing write is the first number
#: update instead: the numbers are the 10-edit apply's last wave (they need the new flow).
LAST_WRITES = r"IncomingPhoneNumbers"


def ten_edits(root: Path, *, services: int, functions: int) -> list[str]:
    """Edit the project on disk: 10 edits, 12 planned changes (each function edit adds a build)."""
    voice = [flow_name(i) for i in range(1, 20) if not is_subflow(i)][:2]
    for name in voice:
        _edit_flow(root, name, "greet", "say", lambda text: text + " (edited)")
    _edit_flow(root, flow_name(0), "remember", "variables", lambda v: [{**v[0], "value": "{{flow.data.caller}}"}])
    (root / "flows" / f"{NEW_FLOW}.json").write_text(json.dumps(
        {**flow_document(1, services, functions), "friendly_name": "Bench new flow"}, indent=1) + "\n")
    for s in (0, 1):
        (root / "functions" / f"svc-{s:02d}" / "functions" / "fn-00.js").write_text(function_code(s, 0, version=2))
    env_file = root / "environments" / f"{ENV}.yaml"
    env = json.loads(env_file.read_text())
    env["flows"].append(NEW_FLOW)
    for i in (0, 1):
        env["numbers"][number(i)]["voice"] = f"flow:{NEW_FLOW}"
    env["services"]["svc-02"]["variables"]["API_URL"] = "https://api.example.com/v2"
    env["services"]["svc-03"]["variables"]["NEW_SETTING"] = "on"
    env_file.write_text(json.dumps(env, indent=1) + "\n")
    return [*(f"flow.{n}" for n in voice), f"flow.{flow_name(0)}", f"flow.{NEW_FLOW}",
            "service.svc-00.function./fn-00", "service.svc-00.build", "service.svc-01.function./fn-00",
            "service.svc-01.build", f"number.{number(0)}", f"number.{number(1)}",
            "service.svc-02.variable.API_URL", "service.svc-03.variable.NEW_SETTING"]


def _edit_flow(root: Path, name: str, state_name: str, key: str, edit: Any) -> None:
    path = root / "flows" / f"{name}.json"
    doc = json.loads(path.read_text())
    for state in doc["states"]:
        if state["name"] == state_name:
            state["properties"][key] = edit(state["properties"][key])
    path.write_text(json.dumps(doc, indent=1) + "\n")


# --------------------------------------------------------------------------- bounds


def write_depth(ws: Any, planned: Any) -> int | None:
    """1 (validation) + the weighted critical path of this engine's write tasks; None when the
    engine has no task graph (an older one)."""
    try:
        from twideploy.plan.executor import write_tasks
        from twideploy.plan.scheduler import waves
        from twideploy.providers.base import ApplyContext
    except ImportError:
        return None
    context = ApplyContext(ws.gateway, planned.desired, planned.live, planned.book, planned.compiled,
                           planned.plan.include_layout, lambda *args, **kwargs: {}, ws.content_cache(),
                           lambda event: None, [])  # the tasks are made, never run
    tasks = write_tasks(context, planned.plan.changes)
    actions = {c.address: c.action.value for c in planned.plan.changes}
    by_address = {t.address: t for t in tasks}
    path: dict[Any, int] = {}
    for address in sorted(by_address, key=waves(tasks).__getitem__):  # needs come in earlier waves
        task = by_address[address]
        weight = 3 if address.part == "build" else \
            2 if address.part in ("function", "asset") and actions.get(address) == "create" else 1
        path[address] = weight + max((path[n] for n in task.needs if n in path), default=0)
    return 1 + max(path.values(), default=0)


def rounds(depth: int, requests: int, concurrency: int) -> int:
    return max(depth, math.ceil(requests / concurrency))


# --------------------------------------------------------------------------- measurement


class Phases:
    """Times and request counts of one apply: its start, the end of its plan (the confirmation
    is asked then), the start of its rollback, its end."""

    def __init__(self, emu: Any, inflight: _InFlight, gw: Any):
        self.emu, self.inflight, self.gw = emu, inflight, gw
        self.marks: dict[str, tuple[float, int, int, int]] = {}

    def mark(self, name: str) -> None:
        stats, state = self.emu.stats(), getattr(self.gw, "state_requests_by_method", {})
        sync_writes = state.get("POST", 0) + state.get("DELETE", 0)
        self.marks[name] = (time.perf_counter(), stats["total"] - sum(state.values()), stats["writes"] - sync_writes,
                            sum(state.values()))

    def confirm(self, plan: Any) -> bool:
        self.mark("planned")
        return True

    def progress(self, event: object) -> None:
        if event == "rolling back":
            self.mark("rolling back")

    def between(self, start: str, end: str) -> tuple[float, int, int, int]:
        """Seconds, requests and writes to the account's resources, and Sync requests (state: account)."""
        (t0, r0, w0, s0), (t1, r1, w1, s1) = self.marks[start], self.marks[end]
        return t1 - t0, r1 - r0, w1 - w0, s1 - s0


def measure_apply(ws: Any, emu: Any, latency_ms: float, *, fail_last_of: int | None = None) -> dict[str, Any]:
    from twideploy.deploy import ApplyOptions, apply
    from twideploy.emulator import FaultConfig
    from twideploy.errors import ApplyError

    inflight = _InFlight(ws.gateway)
    phases = Phases(emu, inflight, ws.gateway)
    if fail_last_of is not None:
        ws.gateway.max_attempts = 1
        emu.set_faults(FaultConfig(latency_ms=latency_ms, fail_nth_write=fail_last_of) if ws.store.kind == "local"
                       else FaultConfig(latency_ms=latency_ms, fail_writes_matching=(LAST_WRITES,)))
    phases.mark("start")
    outcome, error = None, None
    try:
        outcome = apply(ws, ApplyOptions(), confirm=phases.confirm, progress=phases.progress).outcome
    except ApplyError as failure:
        error = str(failure)
    phases.mark("end")
    if fail_last_of is not None:
        emu.set_faults(FaultConfig(latency_ms=latency_ms))
    seconds, requests, writes, sync = phases.between("start", "end")
    return {"phases": phases, "outcome": outcome, "error": error, "inflight_peak": inflight.peak,
            "seconds": seconds, "requests": requests, "writes": writes, "sync": sync}


#: Requests an undo makes one after the other (at least): a deployment's fetches the environment,
#: then the build, lists the code and deploys; a flow update's fetches the flow, the revision, then
#: writes; a number's pointed at a flow lists the flows first. Any other undo: 1.
UNDO_ROUNDS = {"deployment.create": 4, "flow.update": 3}


def undo_depth(ws: Any) -> int | None:
    """The rollback's dependent rounds: over the undo waves of the last deploy's journal, the
    most sequential requests of an undo in each wave."""
    try:
        from twideploy.plan.executor import undo_waves
    except ImportError:
        return None
    record = ws.store.history().records[-1]
    return sum(max(2 if step.op == "number.update" and step.undo.get("flows") else UNDO_ROUNDS.get(step.op, 1)
                   for step in wave) for wave in undo_waves(record.steps) if wave)


def plan_requests(ws: Any, *, cold: bool) -> int:
    from twideploy.deploy import plan

    if cold and ws.content_cache().path is not None:
        ws.content_cache().path.unlink(missing_ok=True)
    before = ws.gateway.requests_made
    plan(ws)
    return ws.gateway.requests_made - before


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_project_arguments(parser)
    parser.add_argument("--parallelism", type=int, default=16, help="the gateway's requests in flight at most")
    parser.add_argument("--tmp-dir", default="/dev/shm" if Path("/dev/shm").is_dir() else None)
    parser.add_argument("--state", choices=("local", "account"), default="local",
                        help="where the environment keeps its journals and lock")
    args = parser.parse_args()

    import twideploy
    from twideploy.emulator import Emulator, FaultConfig
    from twideploy.manifest import load_project
    from twideploy.workspace import Workspace

    print(f"$ python {shlex.join(sys.argv)}")
    print(f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}; python "
          f"{platform.python_version()} on {platform.system()} {platform.machine()}; engine {twideploy.__file__}")
    print(f"parameters: latency {args.latency_ms:g} ms/request, {args.flows} flows, {args.numbers} numbers, "
          f"{args.services} services x {args.functions} functions, parallelism {args.parallelism}, "
          f"state: {args.state}")
    latency, c = args.latency_ms / 1000, args.parallelism
    rows: list[tuple[str, dict[str, Any], int | None]] = []
    with tempfile.TemporaryDirectory(prefix="twideploy-apply-bench-", dir=args.tmp_dir) as tmp:
        root = Path(tmp) / "project"
        root.mkdir()
        generate_project(root, flows=args.flows, numbers=args.numbers, services=args.services,
                         functions=args.functions)
        env_file = root / "environments" / f"{ENV}.yaml"
        env_file.write_text(json.dumps({**json.loads(env_file.read_text()), "state": args.state}, indent=1) + "\n")
        with Emulator(Path(tmp) / "emulator.sqlite", account_sid=ACCOUNT_SID) as emu:
            emu.set_faults(FaultConfig(latency_ms=args.latency_ms))
            spec = {"base_url": emu.base_url, "account_sid": emu.account_sid, "auth_token": emu.auth_token,
                    "concurrency": c}

            def workspace() -> Workspace:
                project = load_project(root)
                env = project.environment(ENV)
                emu.seed_numbers(list(env.numbers))
                return Workspace(project, env, _gateway(spec))

            def add_apply(label: str, result: dict[str, Any], plan_depth: int, depth: int | None) -> None:
                """The apply's row, and a row per phase (plan, then writes) with its own bound."""
                phases = result["phases"]
                parts = []
                for start, end, phase_depth in (("start", "planned", plan_depth), ("planned", "end", depth)):
                    seconds, requests, writes, sync = phases.between(start, end)
                    parts.append(({"seconds": seconds, "requests": requests, "writes": writes, "sync": sync,
                                   "inflight_peak": ""},
                                  None if phase_depth is None else rounds(phase_depth, requests, c)))
                bounds = [b for _, b in parts]
                rows.append((label, result, None if None in bounds else sum(b for b in bounds if b is not None)))
                rows.extend((f"  {name} phase", part, b) for name, (part, b) in zip(("plan", "writes"), parts,
                                                                                     strict=True))

            # 1. from an empty account (its bound needs the plan of an empty account: made first)
            from twideploy.deploy import plan as make_plan

            ws = workspace()
            depth = write_depth(ws, make_plan(ws))
            add_apply("initial apply (empty account)", measure_apply(ws, emu, args.latency_ms), 1, depth)
            # 2. nothing to do
            noop = measure_apply(workspace(), emu, args.latency_ms)
            rows.append(("no-op apply", noop, rounds(3, noop["requests"], c)))
            # 3. ten edits, applied (the plan of them first, for the bound), then rolled back by hand
            edited = ten_edits(root, services=args.services, functions=args.functions)
            ws = workspace()
            planned = make_plan(ws)
            changed = sorted(str(ch.address) for ch in planned.plan.actionable)
            ten = measure_apply(workspace(), emu, args.latency_ms)
            add_apply("10-edit apply", ten, 3, write_depth(ws, planned))
            from twideploy.deploy import rollback

            rollback(workspace())
            # 4. the same apply, its last write failing: apply's own rollback
            failed = measure_apply(workspace(), emu, args.latency_ms, fail_last_of=ten["writes"])
            phases = failed["phases"]
            undo_seconds, undo_n, undo_writes, undo_sync = phases.between("rolling back", "end")
            depth = undo_depth(ws)
            rollback_row = {"seconds": undo_seconds, "requests": undo_n, "writes": undo_writes, "sync": undo_sync,
                            "inflight_peak": failed["inflight_peak"]}
            rows.append(("rollback of it (last write failed)", rollback_row,
                         None if depth is None else rounds(depth, undo_n, c)))
            # 5. cold vs warm plan
            cold, warm = plan_requests(workspace(), cold=True), plan_requests(workspace(), cold=False)

    print(f"\n10 edits planned as: {changed}" + ("" if changed == sorted(edited) else f" (expected {sorted(edited)})"))
    print(f"failed apply: {failed['error']}\n" if failed["error"] else "failed apply: DID NOT FAIL\n")
    header = ("", "wall time", "writes", "requests", "Sync", "in flight", "bound (rounds)", "ratio")
    table = [header]
    for label, r, b in rows:
        table.append((label, f"{r['seconds']:.2f} s", str(r["writes"]), str(r["requests"]), str(r["sync"]),
                      str(r["inflight_peak"]),
                      "-" if b is None else f"{b * latency:.2f} s ({b})",
                      "-" if b is None else f"{r['seconds'] / (b * latency):.2f}x"))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for k, row in enumerate(table):
        cells = enumerate(zip(row, widths, strict=True))
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in cells))
        if k == 0:
            print("  ".join("-" * w for w in widths))
    print(f"\nplan requests: cold cache {cold}, warm cache {warm} ({cold / max(warm, 1):.2f}x)")


if __name__ == "__main__":
    main()
