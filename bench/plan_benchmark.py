"""How long `twideploy plan` takes on a populated account, against a naive read and a lower bound.

    python bench/plan_benchmark.py [--latency-ms 100] [--flows 200] [--numbers 1000]
                                   [--services 10] [--functions 10] [--concurrency 16]
                                   [--naive-sample N] [--tmp-dir DIR] [--state local|account]

1. Generates a temporary project: `--flows` flows (a few widgets each; every fifth flow is a
   subflow that the next four run with run-subflow, and every flow runs a function with
   run-function), `--services` services of `--functions` functions each, and `--numbers`
   number bindings to the flows; loads it with `twideploy.manifest.load_project`.
2. Starts an in-process Emulator on a temporary SQLite file, seeds the numbers and applies
   the project with latency 0 (`twideploy.deploy.apply`), then edits two flows and one
   function on disk: the measured plan is the "few changes" read of a populated account.
3. Sets `--latency-ms` per request and measures `twideploy.deploy.plan` (the real engine)
   with a cold content cache (a fresh checkout, e.g. CI: function code is fetched) and a warm
   one (the machine that applied): wall time, requests (gateway.requests_made and emulator
   stats), flow definitions fetched, peak requests in flight, peak RSS (VmHWM). The emulator
   lists flows with `definition: null` and their `commit_message`, as Twilio does: a flow whose
   message carries the hash of what its manifest compiles to is not fetched, cold or warm.
4. Measures a naive baseline: sequential, one SDK request per resource, SIDs known in
   advance (a Terraform-style refresh from a state file): fetch each flow, per service fetch
   it and list its environments, functions, assets, builds and variables, fetch each deployed
   function version's content, fetch each number.
5. Prints the lower bound (see `lower_bound`) and the ratios, among them cold / warm requests.

With `--state account` the environment keeps its state in the account (`state: account`,
docs/state.md): the setup apply shares the content hashes of what it deployed in the Sync map
`content-hashes`, and "cold" is a fresh checkout (no `.twideploy/cache`, no local journals), so
the plan reads the hashes from Sync instead of fetching function code. The requests are then
also given apart: the account's resources (Studio, Serverless, numbers) and Sync.

Each measurement runs in a fresh child process (the emulator stays in this one), so its
peak RSS and tracemalloc peak are the client's alone. Peak Python heap (tracemalloc) is
measured in separate runs at latency 0: tracing slows Python code, and what is allocated
does not depend on the latency.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import math
import multiprocessing
import platform
import resource
import shlex
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ENV = "bench"
ACCOUNT_SID = "AC" + "b" * 32


# --------------------------------------------------------------------------- project


def flow_name(i: int) -> str:
    return f"bench-{i:04d}"


def is_subflow(i: int) -> bool:
    return i % 5 == 0


def function_ref(i: int, services: int, functions: int) -> str:
    return f"svc-{i % services:02d}/fn-{(i // services) % functions:02d}"


def flow_document(i: int, services: int, functions: int) -> dict[str, Any]:
    """A subflow (trigger incomingParent -> run-function -> set-variables) or a voice flow
    (trigger -> run-function -> split -> say / run-subflow -> say)."""
    fn = function_ref(i, services, functions)
    if is_subflow(i):
        return {
            "friendly_name": f"Bench subflow {i}",
            "status": "published",
            "states": [
                {"name": "Trigger", "type": "trigger", "properties": {"offset": {"x": 0, "y": 0}},
                 "transitions": [{"event": "incomingParent", "next": "lookup"}]},
                {"name": "lookup", "type": "run-function",
                 "properties": {"function": fn, "parameters": [{"key": "from", "value": "{{flow.data.caller}}"}],
                                "offset": {"x": 0, "y": 200}},
                 "transitions": [{"event": "success", "next": "remember"}, {"event": "fail"}]},
                {"name": "remember", "type": "set-variables",
                 "properties": {"variables": [{"key": "tier", "value": "{{widgets.lookup.parsed.tier}}"}],
                                "offset": {"x": 0, "y": 400}},
                 "transitions": [{"event": "next"}]},
            ],
        }
    sub = i - i % 5  # the subflow of this group of five
    states = [
        {"name": "Trigger", "type": "trigger", "properties": {"offset": {"x": 0, "y": 0}},
         "transitions": [{"event": "incomingCall", "next": "lookup"}]},
        {"name": "lookup", "type": "run-function",
         "properties": {"function": fn, "parameters": [{"key": "from", "value": "{{trigger.call.From}}"}],
                        "offset": {"x": 0, "y": 200}},
         "transitions": [{"event": "success", "next": "route"}, {"event": "fail", "next": "greet"}]},
        {"name": "route", "type": "split-based-on",
         "properties": {"input": "{{widgets.lookup.parsed.tier}}", "offset": {"x": 0, "y": 400}},
         "transitions": [{"event": "noMatch", "next": "greet"},
                         {"event": "match", "next": "details",
                          "conditions": [{"friendly_name": "gold", "arguments": ["{{widgets.lookup.parsed.tier}}"],
                                          "type": "equal_to", "value": "gold"}]}]},
        {"name": "details", "type": "run-subflow",
         "properties": {"flow": flow_name(sub), "flow_revision": "LatestPublished",
                        "parameters": [{"key": "caller", "value": "{{trigger.call.From}}"}],
                        "offset": {"x": -300, "y": 600}},
         "transitions": [{"event": "completed", "next": "greet"}, {"event": "failed", "next": "greet"}]},
        {"name": "greet", "type": "say-play",
         "properties": {"say": f"${{vars.greeting}} line {i}.", "voice": "Polly.Joanna", "language": "en-US",
                        "loop": 1, "offset": {"x": 0, "y": 800}},
         "transitions": [{"event": "audioComplete"}]},
    ]
    return {"friendly_name": f"Bench flow {i}", "status": "published", "states": states}


def function_code(s: int, f: int, version: int = 1) -> str:
    return (f"// bench function svc-{s:02d}/fn-{f:02d} v{version}\n"
            "exports.handler = function (context, event, callback) {\n"
            f"  callback(null, {{ tier: 'gold', service: {s}, function: {f}, version: {version} }});\n"
            "};\n")


def number(i: int) -> str:
    return f"+1415555{i:04d}"


def voice_flow(i: int, flows: int) -> int:
    """The voice (non-sub) flow number i is bound to."""
    voice = [k for k in range(flows) if not is_subflow(k)] or list(range(flows))
    return voice[i % len(voice)]


def generate_project(root: Path, *, flows: int, numbers: int, services: int, functions: int,
                     state: str = "local") -> None:
    (root / "twideploy.yaml").write_text(f"name: plan-benchmark\ndefault_environment: {ENV}\n")
    (root / "environments").mkdir()
    (root / "flows").mkdir()
    env = {
        "target": "emulator",
        "emulator": {"account_sid": ACCOUNT_SID},
        "vars": {"greeting": "Welcome to the benchmark"},
        "services": {f"svc-{s:02d}": {"environment": "bench", "domain_suffix": "bench",
                                      "variables": {"API_URL": f"https://api.example.com/{s}"}}
                     for s in range(services)},
        "flows": [flow_name(i) for i in range(flows)],
        "numbers": {number(i): {"voice": f"flow:{flow_name(voice_flow(i, flows))}",
                                "sms": f"flow:{flow_name(voice_flow(i + 1, flows))}"}
                    for i in range(numbers)},
        "prune": False,
        "state": state,
    }
    # JSON is valid YAML; the file stays readable enough and is written fast.
    (root / "environments" / f"{ENV}.yaml").write_text(json.dumps(env, indent=1) + "\n")
    for i in range(flows):
        (root / "flows" / f"{flow_name(i)}.json").write_text(
            json.dumps(flow_document(i, services, functions), indent=1) + "\n")
    for s in range(services):
        folder = root / "functions" / f"svc-{s:02d}"
        (folder / "functions").mkdir(parents=True)
        (folder / "service.yaml").write_text(
            f"unique_name: bench-svc-{s:02d}\nfriendly_name: Bench service {s}\nruntime: node22\n"
            "dependencies:\n  axios: \"^1.7.0\"\nvariables:\n  TIMEOUT_MS: \"3000\"\n")
        for f in range(functions):
            (folder / "functions" / f"fn-{f:02d}.js").write_text(function_code(s, f))


def make_few_changes(root: Path, *, flows: int) -> list[str]:
    """Edit two flows (a say text) and one function (its code): the plan's 'few changes'.

    Returns the addresses a correct plan reports as changed."""
    changed = []
    for i in [k for k in range(flows) if not is_subflow(k)][:2]:
        path = root / "flows" / f"{flow_name(i)}.json"
        doc = json.loads(path.read_text())
        for state in doc["states"]:
            if state["name"] == "greet":
                state["properties"]["say"] += " (edited)"
        path.write_text(json.dumps(doc, indent=1) + "\n")
        changed.append(f"flow.{flow_name(i)}")
    path = root / "functions" / "svc-00" / "functions" / "fn-00.js"
    path.write_text(function_code(0, 0, version=2))
    changed += ["service.svc-00.function./fn-00", "service.svc-00.build"]
    return changed


# --------------------------------------------------------------------------- child-process measurements


def _gateway(spec: dict[str, Any]):
    from twideploy.secrets import Secret
    from twideploy.twilio_api.gateway import Credentials, Gateway

    return Gateway(Credentials(spec["account_sid"], spec["account_sid"], Secret(spec["auth_token"])),
                   base_url=spec["base_url"], concurrency=spec["concurrency"])


class _InFlight:
    """Counts HTTP requests in flight through one gateway (wraps its requests.Session)."""

    def __init__(self, gw: Any):
        self.now = self.peak = 0
        self._lock = threading.Lock()
        session = gw._http.session  # noqa: SLF001 - benchmark instrumentation only
        original = session.request

        def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.now += 1
                self.peak = max(self.peak, self.now)
            try:
                return original(method, url, *args, **kwargs)
            finally:
                with self._lock:
                    self.now -= 1

        session.request = request


class _PoolWarnings(logging.Handler):
    """Counts urllib3's "Connection pool is full, discarding connection" warnings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "pool is full" in record.getMessage():
            self.count += 1


def peak_rss_kb() -> int:
    """This process's peak resident set (VmHWM). Not ru_maxrss: on Linux that survives fork and
    exec, so a spawned child would report its parent's peak (the emulator's process)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS


def _measure(spec: dict[str, Any], work) -> dict[str, Any]:
    """Run `work()` (after its setup) with the timers, counters and memory probes around it."""
    import tracemalloc

    warnings = _PoolWarnings()
    logging.getLogger("urllib3").addHandler(warnings)
    rss_before_kb = peak_rss_kb()
    if spec["trace"]:
        tracemalloc.start()
    started = time.perf_counter()
    result = work()
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if spec["trace"] else None
    if spec["trace"]:
        tracemalloc.stop()
    return {**result, "seconds": elapsed, "tracemalloc_peak": peak,
            "rss_before_kb": rss_before_kb, "maxrss_kb": peak_rss_kb(),
            "pool_full_warnings": warnings.count}


def run_engine(spec: dict[str, Any]) -> dict[str, Any]:
    """Child process: `twideploy.deploy.plan` on the emulator account."""
    from twideploy.deploy import plan
    from twideploy.manifest import load_project
    from twideploy.workspace import Workspace

    project = load_project(Path(spec["root"]))
    ws = Workspace(project, project.environment(ENV), _gateway(spec))
    if spec["cold_cache"]:  # a fresh checkout: none of what the applying machine kept on disk
        shutil.rmtree(ws.paths.root / "cache", ignore_errors=True)
        shutil.rmtree(ws.paths.journals, ignore_errors=True)
    inflight = _InFlight(ws.gateway)
    # Warm up the SDK's lazy imports (a one-off cost of any twilio program, not of the plan):
    # constructing the resource objects of the three products imports their modules.
    ws.gateway.client.studio.v2.flows, ws.gateway.client.serverless.v1.services  # noqa: B018
    ws.gateway.client.api.v2010.accounts(ws.gateway.account_sid).incoming_phone_numbers  # noqa: B018

    def made() -> int:  # the account's resources and Sync (state: account's journals, lease, hashes)
        return ws.gateway.requests_made + sum(ws.gateway.state_requests_by_method.values())

    def work() -> dict[str, Any]:
        before = made()
        planned = plan(ws)
        changes = [c for c in planned.plan.changes if c.action.value in ("create", "update", "delete")]
        return {"requests": made() - before, "summary": planned.plan.summary(),
                "changed": [str(c.address) for c in changes], "resources": len(planned.plan.changes)}

    result = _measure(spec, work)
    result["inflight_peak"] = inflight.peak
    return result


def run_naive(spec: dict[str, Any]) -> dict[str, Any]:
    """Child process: the naive baseline, one request at a time, SIDs known in advance.

    With `sample`, only the first `sample` flows, numbers and services are read, each
    kind timed on its own, and the total extrapolated per kind.
    """
    gw = _gateway(spec)
    client = gw.client
    state = spec["state"]
    sample = spec["sample"]
    client.studio.v2.flows, client.serverless.v1.services  # noqa: B018 - same warm-up as the engine
    client.api.v2010.accounts(gw.account_sid).incoming_phone_numbers  # noqa: B018

    def read_flows(sids: list[str]) -> int:
        return sum(len(client.studio.v2.flows(sid).fetch().definition or {}) for sid in sids)

    def read_numbers(sids: list[str]) -> int:
        numbers = client.api.v2010.accounts(gw.account_sid).incoming_phone_numbers
        return sum(len(numbers(sid).fetch().voice_url or "") for sid in sids)

    def read_services(sids: list[str]) -> int:
        read = 0
        for sid in sids:
            service = client.serverless.v1.services(sid)
            service.fetch()
            env = next(e for e in service.environments.list() if e.unique_name == "bench")
            functions = service.functions.list()
            service.assets.list()
            builds = {b.sid: b for b in service.builds.list()}
            service.environments(env.sid).variables.list()
            deployed = builds[env.build_sid]
            for version in deployed.function_versions or []:
                content = service.functions(version["function_sid"]).function_versions(version["sid"]) \
                    .function_version_content().fetch().content
                read += len(content)
            read += len(functions)
        return read

    def work() -> dict[str, Any]:
        parts = {}
        for kind, reader in (("flows", read_flows), ("services", read_services), ("numbers", read_numbers)):
            sids = state[kind] if sample is None else state[kind][:sample]
            before, started = gw.requests_made, time.perf_counter()
            reader(sids)
            factor = len(state[kind]) / len(sids) if sids else 0
            parts[kind] = {"seconds": time.perf_counter() - started, "requests": gw.requests_made - before,
                           "read": len(sids), "of": len(state[kind]), "factor": factor}
        return {"parts": parts, "requests": gw.requests_made,
                "extrapolated_seconds": sum(p["seconds"] * p["factor"] for p in parts.values()),
                "extrapolated_requests": round(sum(p["requests"] * p["factor"] for p in parts.values()))}

    return _measure(spec, work)


def in_child(fn, spec: dict[str, Any]) -> dict[str, Any]:
    """Run `fn(spec)` in a fresh spawned interpreter (clean peak RSS, no shared threads)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, spec).result()


# --------------------------------------------------------------------------- lower bound


def lower_bound(*, flows: int, numbers: int, functions_per_service: list[int], assets_per_service: list[int],
                concurrency: int, cold_cache: bool, flow_fetches: int, state_reads: int = 0) -> dict[str, Any]:
    """Round trips on the critical path of what plan must read, at `concurrency` in flight.

    What the engine must read (lists in pages of 1,000), as dependency levels:
      L0  list flows (definitions null, as Twilio lists them), list services, list numbers
      L1  per service: list environments, list functions, list assets      (need the service SID);
          per managed flow whose hash (from the cache, or from the commit message twideploy
          wrote) differs from the manifests, fetch it for its definition   (needs the flow SID)
      L2  per service: fetch the deployed build, list the env's variables  (need env + build SID)
      L3  per deployed function: fetch its version's content               (needs the build's
          version SIDs; only with a cold content cache, else hashes come from the cache)
    N = total requests; depth D = 4 levels cold, 3 warm (or more pages of a long list).
    With `state: account`, `state_reads` more: list the Sync services, then the content-hashes
    map page after page (a chain of `state_reads` round trips, which may overlap L0-L2), and
    no L3 cold or warm (the hashes come from Sync).
    With at most C requests in flight, a round trip carries at most C requests, and the first
    carries at most the 3 of L0 (all else waits for the list of services), so

        rounds >= max(D, 1 + ceil((N - 3) / C))        lower bound = rounds x latency

    It counts round trips only (no server or client CPU time). `unbounded` is D x latency:
    the bound with no cap on requests in flight.
    """
    pages = lambda n: max(1, math.ceil(n / 1000))  # noqa: E731
    services = len(functions_per_service)
    l0 = pages(flows) + 1 + pages(numbers)
    per_service = zip(functions_per_service, assets_per_service, strict=True)
    l1 = sum(1 + pages(f) + pages(a) for f, a in per_service) + flow_fetches
    l2 = 2 * services
    l3 = sum(functions_per_service) if cold_cache else 0
    total = l0 + l1 + l2 + l3
    depth = max(1 + (services > 0) * (2 + (l3 > 0)), pages(flows) + (flow_fetches > 0), pages(numbers))
    total += state_reads
    depth = max(depth, state_reads)
    first = 3 + (state_reads > 0)  # L0 and the Sync services' list
    rounds = max(depth, 1 + math.ceil(max(total - first, 0) / concurrency))
    return {"requests": total, "depth": depth, "rounds": rounds, "levels": [l0, l1, l2, l3], "first": first,
            "state_reads": state_reads}


# --------------------------------------------------------------------------- main


def account_state_reads(gw: Any) -> int:
    """The Sync requests a plan needs to read the account's content hashes: list the Sync
    services, then each page of the `content-hashes` map."""
    from twideploy.state.account_store import CONTENT_MAP, SyncAccount
    from twideploy.twilio_api import sync

    service = SyncAccount(gw).service(create=False)
    hashes = len(sync.list_items(gw, service, CONTENT_MAP)) if service else 0
    return 1 + max(1, math.ceil(hashes / sync.ITEMS_PAGE_SIZE))


def add_project_arguments(parser: argparse.ArgumentParser) -> None:
    """The latency and the size of the generated project (shared with apply_benchmark.py)."""
    parser.add_argument("--latency-ms", type=float, default=100)
    parser.add_argument("--flows", type=int, default=200)
    parser.add_argument("--numbers", type=int, default=1000)
    parser.add_argument("--services", type=int, default=10)
    parser.add_argument("--functions", type=int, default=10)


def main() -> None:
    from twideploy.twilio_api.gateway import DEFAULT_CONCURRENCY

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_project_arguments(parser)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--naive-sample", type=int, default=None, metavar="N",
                        help="read only N flows, N numbers and N services naively and extrapolate")
    parser.add_argument("--tmp-dir", default="/dev/shm" if Path("/dev/shm").is_dir() else None,
                        help="where the project and the emulator database go (default: /dev/shm when "
                             "there is one: the setup apply fsyncs its journal on every write)")
    parser.add_argument("--state", choices=["local", "account"], default="local",
                        help="where the bench environment keeps its state (journals, lock, content hashes): "
                             "`account` keeps them in the account's Sync (docs/state.md)")
    args = parser.parse_args()
    if min(args.flows, args.services, args.functions) < 1 or args.numbers < 0:
        parser.error("--flows, --services and --functions must be at least 1")

    from twideploy.deploy import ApplyOptions, apply
    from twideploy.emulator import Emulator, FaultConfig
    from twideploy.manifest import load_project
    from twideploy.providers import serverless
    from twideploy.state.cache import ContentCache
    from twideploy.workspace import Workspace

    print(f"$ python {shlex.join(sys.argv)}")
    print(f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}; "
          f"python {platform.python_version()} on {platform.system()} {platform.machine()}")
    print(f"parameters: latency {args.latency_ms:g} ms/request, {args.flows} flows, {args.numbers} numbers, "
          f"{args.services} services x {args.functions} functions, concurrency {args.concurrency}, "
          f"naive {'sample ' + str(args.naive_sample) if args.naive_sample else 'full'}, state {args.state}, "
          f"temporary files in {args.tmp_dir or tempfile.gettempdir()}")

    with tempfile.TemporaryDirectory(prefix="twideploy-plan-bench-", dir=args.tmp_dir) as tmp:
        root = Path(tmp) / "project"
        root.mkdir()
        started = time.perf_counter()
        generate_project(root, flows=args.flows, numbers=args.numbers, services=args.services,
                         functions=args.functions, state=args.state)
        project = load_project(root)
        env = project.environment(ENV)
        print(f"project: {len(project.flows)} flows, {len(project.services)} services, "
              f"{sum(len(s.functions) for s in project.services.values())} functions, {len(env.numbers)} numbers "
              f"(generated and loaded in {time.perf_counter() - started:.1f} s)")

        with Emulator(Path(tmp) / "emulator.sqlite", account_sid=ACCOUNT_SID) as emu:
            emu.seed_numbers(list(env.numbers))
            spec = {"root": str(root), "base_url": emu.base_url, "account_sid": emu.account_sid,
                    "auth_token": emu.auth_token, "concurrency": args.concurrency}
            gw = _gateway(spec)
            started = time.perf_counter()
            planned, outcome = apply(Workspace(project, env, gw), ApplyOptions())
            writes = outcome.writes if outcome else 0  # no outcome: nothing to apply
            print(f"setup: applied {writes} writes at latency 0 in {time.perf_counter() - started:.1f} s")
            expected = make_few_changes(root, flows=args.flows)
            print(f"then edited on disk, so a correct plan changes: {', '.join(expected)}")

            # What a state file would hold, for the naive refresh (read at latency 0, not timed).
            live_flows = gw.list_all(gw.client.studio.v2.flows)
            live_numbers = gw.list_all(gw.client.api.v2010.accounts(gw.account_sid).incoming_phone_numbers)
            live_services = serverless.read(gw, {n: s.unique_name for n, s in project.services.items()},
                                            {n: "bench" for n in project.services},
                                            ContentCache(None))
            state_reads = account_state_reads(gw) if args.state == "account" else 0
            state = {"flows": [f.sid for f in live_flows],
                     "numbers": [n.sid for n in live_numbers if n.phone_number in env.numbers],
                     "services": [s.sid for s in live_services.values()]}

            def measured(fn, **extra: Any) -> dict[str, Any]:
                before = emu.stats()
                result = in_child(fn, {**spec, **extra})
                after = emu.stats()
                result["emulator_requests"] = after["total"] - before["total"]
                asked = {route: n - before["by_route"].get(route, 0) for route, n in after["by_route"].items()}
                result["flow_fetches"] = asked.get(FLOW_FETCH, 0)
                result["content_fetches"] = sum(n for route, n in asked.items() if route.endswith(CONTENT_FETCH))
                result["sync_requests"] = sum(n for route, n in asked.items() if SYNC_ROUTES in route)
                return result

            # Memory runs (tracemalloc, latency 0), then the timed runs (no tracing).
            emu.set_faults(FaultConfig(latency_ms=0))
            mem_engine = measured(run_engine, trace=True, **SCENARIOS[0][1])
            mem_naive = measured(run_naive, trace=True, state=state, sample=args.naive_sample)
            emu.set_faults(FaultConfig(latency_ms=args.latency_ms))
            engine = [measured(run_engine, trace=False, **options) for _, options in SCENARIOS]
            naive = measured(run_naive, trace=False, state=state, sample=args.naive_sample)

    functions = [len(s.functions) for s in live_services.values()]
    assets = [len(s.assets) for s in live_services.values()]
    edited_flows = sum(address.startswith("flow.") for address in expected)
    bounds = [lower_bound(flows=len(live_flows), numbers=len(live_numbers), functions_per_service=functions,
                          assets_per_service=assets, concurrency=args.concurrency,
                          cold_cache=options["cold_cache"] and not state_reads, flow_fetches=edited_flows,
                          state_reads=state_reads)
              for _, options in SCENARIOS]
    report(args, engine, naive, mem_engine, mem_naive, bounds, expected)


# The emulator's stats by route: a flow's definition, a function or asset version's content, and Sync
# (the account state's journals, lease and content hashes).
FLOW_FETCH = "GET /v2/Flows/<Sid>"
CONTENT_FETCH = "/Content"
SYNC_ROUTES = " /sync/"

#: (label, options of run_engine). The first is the headline: what CI sees (a fresh checkout,
#: so no content cache).
SCENARIOS = [
    ("cold cache", {"cold_cache": True}),
    ("warm cache", {"cold_cache": False}),
]


def describe_plan(name: str, result: dict[str, Any], expected: list[str]) -> str:
    unexpected = [a for a in result["changed"] if a not in expected]
    missing = [a for a in expected if a not in result["changed"]]
    line = f"engine plan, {name}: {result['summary']} over {result['resources']} resources"
    if not unexpected and not missing:
        return line + " (exactly the edits)"
    return (line + f"; NOT the edits: {len(unexpected)} unexpected ({', '.join(unexpected[:4])}"
            f"{', ...' if len(unexpected) > 4 else ''}), {len(missing)} missing {missing}")


def report(args, engine, naive, mem_engine, mem_naive, bounds, expected) -> None:
    latency = args.latency_ms / 1000 or float("nan")  # ratios to the bound are undefined at latency 0
    mib = lambda b: f"{b / 2**20:.1f} MiB" if b is not None else "-"  # noqa: E731
    rss = lambda r: f"{r['maxrss_kb'] / 1024:.0f} MiB (+{(r['maxrss_kb'] - r['rss_before_kb']) / 1024:.0f})"  # noqa: E731
    extrapolated = args.naive_sample is not None
    naive_seconds = naive["extrapolated_seconds"] if extrapolated else naive["seconds"]
    naive_requests = naive["extrapolated_requests"] if extrapolated else naive["requests"]
    tag = " (extrapolated)" if extrapolated else ""

    print()
    for (label, _), result in zip(SCENARIOS, engine, strict=True):
        print(describe_plan(label, result, expected))
    print()
    rows = [("", "wall time", "requests (client/emulator)", "in flight", "peak RSS (+during)", "tracemalloc peak")]
    for k, ((label, _), r) in enumerate(zip(SCENARIOS, engine, strict=True)):
        rows.append((f"engine plan, {label}", f"{r['seconds']:.2f} s", f"{r['requests']} / {r['emulator_requests']}",
                     str(r["inflight_peak"]), rss(r), mib(mem_engine["tracemalloc_peak"]) if k == 0 else "-"))
    rows.append(("naive sequential" + tag, f"{naive_seconds:.2f} s",
                 f"{naive_requests} / {naive['emulator_requests']}" + (" (sampled)" if extrapolated else ""),
                 "1", rss(naive), mib(mem_naive["tracemalloc_peak"])))
    for (label, _), b in zip(SCENARIOS, bounds, strict=True):
        rows.append((f"lower bound, {label}", f"{b['rounds'] * latency:.2f} s", str(b["requests"]),
                     f"<= {args.concurrency}", "", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for k, row in enumerate(rows):
        cells = enumerate(zip(row, widths, strict=True))
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in cells))
        if k == 0:
            print("  ".join("-" * w for w in widths))
    print()
    for (label, _), b in zip(SCENARIOS, bounds, strict=True):
        sync_reads = f" + Sync {b['state_reads']}" if b["state_reads"] else ""
        print(f"lower bound, {label}: N = {b['requests']} requests (levels L0-L3 {b['levels']}{sync_reads}), depth D = "
              f"{b['depth']}; rounds = max(D, 1 + ceil((N - {b['first']}) / {args.concurrency})) = {b['rounds']} "
              f"-> {b['rounds'] * latency:.2f} s; with no cap on requests in flight: D x latency = "
              f"{b['depth'] * latency:.2f} s")
    print("naive by kind: " + "; ".join(
        f"{kind} {p['read']}/{p['of']}: {p['seconds']:.2f} s, {p['requests']} requests"
        for kind, p in naive["parts"].items()))
    print("flow definitions fetched: " + ", ".join(
        f"{label} {r['flow_fetches']}" for (label, _), r in zip(SCENARIOS, engine, strict=True)))
    print("function and asset contents fetched: " + ", ".join(
        f"{label} {r['content_fetches']}" for (label, _), r in zip(SCENARIOS, engine, strict=True)))
    print("requests, account resources + Sync: " + ", ".join(
        f"{label} {r['emulator_requests'] - r['sync_requests']} + {r['sync_requests']} = {r['emulator_requests']}"
        for (label, _), r in zip(SCENARIOS, engine, strict=True)))
    print("urllib3 'connection pool is full, discarding connection' warnings: " + ", ".join(
        f"{label} {r['pool_full_warnings']}" for (label, _), r in zip(SCENARIOS, engine, strict=True)))
    print(f"memory runs (tracemalloc, latency 0): engine ({SCENARIOS[0][0]}) {mem_engine['seconds']:.2f} s / "
          f"{mem_engine['requests']} requests, naive {mem_naive['seconds']:.2f} s / {mem_naive['requests']} requests")
    print()
    print("ratios (this run):")
    print("  naive time / engine time          " + ", ".join(
        f"{naive_seconds / r['seconds']:.1f}x {label}"
        for (label, _), r in zip(SCENARIOS, engine, strict=True)) + tag)
    print("  naive requests / engine requests  " + ", ".join(
        f"{naive_requests / r['requests']:.1f}x {label}"
        for (label, _), r in zip(SCENARIOS, engine, strict=True)) + tag)
    print("  engine time / lower bound         " + ", ".join(
        f"{r['seconds'] / (b['rounds'] * latency):.2f}x {label}"
        for (label, _), r, b in zip(SCENARIOS, engine, bounds, strict=True)))
    print("  engine time / uncapped bound      " + ", ".join(
        f"{r['seconds'] / (b['depth'] * latency):.2f}x {label}"
        for (label, _), r, b in zip(SCENARIOS, engine, bounds, strict=True)))
    cold, warm = engine
    print(f"  cold / warm requests              {cold['requests'] / warm['requests']:.2f}x "
          f"({cold['requests']} / {warm['requests']})")


if __name__ == "__main__":
    main()
