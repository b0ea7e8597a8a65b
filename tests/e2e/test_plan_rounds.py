"""A plan reads the account in as few dependent rounds as the API allows: reads that need
nothing of each other are in flight at once, so a plan's wall time at Twilio's latency is
the depth of its reads, not their number.

Rounds are counted, not timed: every request's time in flight is recorded around the
gateway's limiter, with latency injected by the emulator so that one round's answers come
well after all of its requests were sent; a request's round is one more than the latest
round of the requests answered before it was sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from twideploy import deploy
from twideploy.emulator.faults import FaultConfig
from twideploy.twilio_api.gateway import AdaptiveLimit

from .helpers import content_fetches, open_ws, set_greeting

LOOKUP = "functions/crm/functions/lookup.js"


class RecordingLimit(AdaptiveLimit):
    """The gateway's limiter, also recording when each request was in flight."""

    def __init__(self, ceiling: int):
        super().__init__(ceiling)
        self.spans: list[tuple[float, float]] = []

    @contextmanager
    def slot(self) -> Iterator[Callable[[int], None]]:
        with super().slot() as answered:
            sent = time.monotonic()
            try:
                yield answered
            finally:
                self.spans.append((sent, time.monotonic()))


def dependent_rounds(spans: list[tuple[float, float]]) -> list[int]:
    """How many requests each round had: a request's round is 1 + the latest round of those
    answered before it was sent."""
    rounds: list[tuple[float, int]] = []  # (answered at, round)
    for sent, answered in sorted(spans):
        rounds.append((answered, 1 + max((r for done, r in rounds if done <= sent), default=0)))
    depth = max(r for _, r in rounds)
    return [sum(1 for _, r in rounds if r == n) for n in range(1, depth + 1)]


def test_a_plan_with_a_flow_and_a_function_edited_reads_in_four_rounds(project_dir, emulator):
    ws = open_ws(project_dir, emulator)
    deploy.apply(ws, deploy.ApplyOptions())
    set_greeting(project_dir, "Thanks for calling Acme, now with fewer round trips.")
    lookup = project_dir / LOOKUP
    lookup.write_text(lookup.read_text().replace("const UNKNOWN", "// edited\nconst UNKNOWN"))
    ws = open_ws(project_dir, emulator, parallelism=64)  # no request waits for room: rounds are dependencies only
    limit = ws.gateway.limiter = RecordingLimit(64)
    emulator.set_faults(FaultConfig(latency_ms=300))  # far more than a loaded machine's delay between sends

    planned = deploy.plan(ws)

    changed = {str(c.address) for c in planned.plan.actionable}
    assert {"flow.ivr-main", "service.crm.function./lookup"} <= changed
    [diffed] = [c for c in planned.plan.actionable if str(c.address) == "service.crm.function./lookup"]
    assert any("// edited" in line for line in diffed.diff)  # the live code was read for the diff
    rounds = dependent_rounds(limit.spans)
    # 1: the lists of flows, services and numbers; 2: each service's environments, functions
    # and assets; 3: its deployed build and variables; 4: the edited function's live code and
    # the edited flow's definition, together (the code is read with its service, the flow as
    # soon as the manifests are compiled against the live SIDs).
    assert len(rounds) == 4, rounds
    assert rounds[0] == 3 and rounds[3] >= 2, rounds


def test_a_cold_plan_reads_an_edited_functions_code_once(project_dir, emulator):
    """Without the content cache every deployed function's code is read to hash it; the code
    of the edited one is kept for its diff, not read a second time."""
    ws = open_ws(project_dir, emulator)
    deploy.apply(ws, deploy.ApplyOptions())
    deployed_functions = sum(len(s.functions) for s in ws.project.services.values())
    lookup = project_dir / LOOKUP
    lookup.write_text(lookup.read_text().replace("const UNKNOWN", "// edited\nconst UNKNOWN"))
    ws = open_ws(project_dir, emulator)
    ws.paths.content_cache(ws.gateway.account_sid).unlink(missing_ok=True)
    before = content_fetches(emulator)

    planned = deploy.plan(ws)

    [diffed] = [c for c in planned.plan.actionable if str(c.address) == "service.crm.function./lookup"]
    assert any("// edited" in line for line in diffed.diff)
    assert content_fetches(emulator) - before == deployed_functions
