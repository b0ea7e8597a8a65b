"""Apply writes what the plan showed: each flow's definition compiled when planning (recompiled
only where it showed "(known after apply)"), and every write checked against the planned change
once those unknowns are known. A mismatch (here: a Planned tampered with after planning) is an
ApplyError, and what was written before it is rolled back."""

from __future__ import annotations

import pytest

from twideploy import deploy
from twideploy.addresses import Address
from twideploy.errors import ApplyError
from twideploy.manifest.references import UNKNOWN
from twideploy.plan.executor import Executor
from twideploy.providers import flows as flow_provider
from twideploy.state.store import Lease

from .helpers import edit_yaml, open_ws
from .snapshot import account_state


def _execute(ws, planned):
    return Executor(ws.gateway, planned, store=ws.store, history=ws.store.history(), lease=Lease(),
                    cache=ws.content_cache(), git_sha=None).run()


def _change(planned, address: str):
    return next(c for c in planned.plan.changes if c.address == Address.parse(address))


def test_a_flow_that_would_differ_from_its_plan_is_not_written_and_the_deploy_rolls_back(project_dir, emulator):
    ws = open_ws(project_dir, emulator)
    before = account_state(ws.gateway)
    planned = deploy.plan(ws)
    ivr = planned.compiled["ivr-main"]
    assert UNKNOWN in str(ivr)  # it runs crm/lookup, which this deploy creates: recompiled when applied
    say = next(s for s in ivr["states"] if "say" in s.get("properties", {}))
    say["properties"]["say"] = "Not what the plan showed"

    with pytest.raises(ApplyError, match=r"flow\.ivr-main: what apply was about to write differs from the plan "
                                         r"at \.states\[\d+\]\.properties\.say") as error:
        _execute(ws, planned)
    assert "every change made was rolled back" in str(error.value)
    assert account_state(ws.gateway) == before


def test_a_binding_that_would_differ_from_its_plan_is_not_written(project_dir, emulator):
    deploy.apply(open_ws(project_dir, emulator), deploy.ApplyOptions())
    edit_yaml(project_dir / "environments/local.yaml",
              lambda env: env["numbers"]["+15005550007"].update(voice_fallback="https://example.com/maintenance"))
    ws = open_ws(project_dir, emulator)
    before = account_state(ws.gateway)
    planned = deploy.plan(ws)
    _change(planned, "number.+15005550007").after["voice_fallback_url"] = "https://elsewhere.example.com"

    with pytest.raises(ApplyError, match=r"number\.\+15005550007: .* differs from the plan at \.voice_fallback_url"):
        _execute(ws, planned)
    assert account_state(ws.gateway) == before


def test_code_that_is_not_what_the_plan_hashed_is_refused_before_any_write(project_dir, emulator):
    ws = open_ws(project_dir, emulator)
    planned = deploy.plan(ws)
    _change(planned, "service.crm.function./lookup").after["sha256"] = "0" * 64
    writes = emulator.stats()["writes"]

    with pytest.raises(ApplyError, match=r"service\.crm\.function\./lookup: .* differs from the plan at \.sha256"):
        _execute(ws, planned)
    assert emulator.stats()["writes"] == writes


def test_apply_compiles_each_flow_once(project_dir, emulator, monkeypatch):
    """Planning compiles every flow once; applying to an empty account recompiles only the flows
    that refer to what the deploy creates (before: every flow three times per apply)."""
    calls: list[dict] = []
    real = flow_provider.compile_flow
    monkeypatch.setattr(flow_provider, "compile_flow",
                        lambda definition, **kw: calls.append(definition) or real(definition, **kw))
    ws = open_ws(project_dir, emulator)
    planned = deploy.plan(ws)
    assert len(calls) == len(ws.env.flows)
    unknown = [name for name, definition in planned.compiled.items() if UNKNOWN in str(definition)]
    _execute(ws, planned)
    assert len(calls) == len(ws.env.flows) + len(unknown)
