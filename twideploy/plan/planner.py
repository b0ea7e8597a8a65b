"""Manifests + live account -> Plan.

Desired state comes from the manifests of one environment; live state is read through the
gateway with the fewest round trips (lists of up to 1,000, then only the fetches that are
needed, concurrently); symbolic references are compiled with an AddressBook of the live
SIDs (unknown ones, for resources still to be created, read "(known after apply)").

No secret reaches a plan: flow widget values are shown with the strings where the manifests
put a secret var masked by position (so a rotated secret's earlier value is masked too), then
every current secret value is masked wherever else it appears; live variable values are never
shown; the fingerprint holds variable values only as HMACs keyed by a local plan key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from twideploy.gateway import Gateway
from twideploy.manifest import Environment, Project
from twideploy.manifest.references import (AddressBook, FlowAddress, FunctionAddress, FunctionRef, compile_flow,
                                           contains_any, mask_secret_strings, var_names)
from twideploy.plan.model import Change, Plan, WidgetChange
from twideploy.resources import flows, numbers, serverless
from twideploy.secrets import MASK, Secret
from twideploy.state.cache import ContentCache
from twideploy.state.journal import now
from twideploy.state.plan_key import key_id


@dataclass
class Desired:
    project: Project
    env: Environment

    @property
    def flows(self) -> list[Any]:
        """The environment's flows, subflows before the flows that run them."""
        return order_flows([self.project.flows[name] for name in self.env.flows])

    @property
    def services(self) -> dict[str, tuple[Any, Any]]:
        return {name: (self.project.services[name], settings) for name, settings in self.env.services.items()}

    def secret_values(self) -> list[str]:
        values = [v.reveal() for v in self.env.vars.values() if isinstance(v, Secret)]
        for settings in self.env.services.values():
            values += [v.reveal() for v in settings.variables.values() if isinstance(v, Secret)]
        return [v for v in values if v]

    def holds_secret(self, friendly_name: str, definition: dict[str, Any]) -> bool:
        """Whether a live flow's definition may hold a secret value: a current one is in it, or
        the project's manifest of that flow puts a var there that is a secret in this
        environment, or that it does not define (an earlier, rotated value is not found by value)."""
        if contains_any(definition, self.secret_values()):
            return True
        source = next((f for f in self.project.flows.values() if f.friendly_name == friendly_name), None)
        return source is not None and any(isinstance(self.env.vars.get(name), Secret) or name not in self.env.vars
                                          for name in var_names(source.definition))


@dataclass
class Live:
    flows: dict[str, flows.LiveFlow]
    services: dict[str, serverless.LiveService]
    numbers: dict[str, numbers.LiveNumber]


@dataclass
class Planned:
    """A plan plus what apply needs that a plan file must not hold (code, secrets)."""

    plan: Plan
    desired: Desired
    live: Live


def read_live(gw: Gateway, desired: Desired, cache: ContentCache, *, skip_known_flows: bool = False) -> Live:
    """The live state of what `desired` names. With `skip_known_flows`, flows whose current
    revision's hash is cached are not fetched (see `flows.read`)."""
    managed_flows = {f.friendly_name for f in desired.flows}
    wanted_services = {name: source.unique_name for name, (source, _) in desired.services.items()}
    env_names = {name: settings.environment for name, (_, settings) in desired.services.items()}
    tasks = [lambda: flows.read(gw, managed_flows, cache, skip_known=skip_known_flows),
             lambda: serverless.read(gw, wanted_services, env_names, cache),
             lambda: numbers.read(gw) if desired.env.numbers else {}]
    live_flows, live_services, live_numbers = gw.map(lambda task: task(), tasks)
    return Live(live_flows, live_services, live_numbers)


def address_book(desired: Desired, live: Live) -> AddressBook:
    book = AddressBook(functions={}, flows={})
    for name, (source, _) in desired.services.items():
        service = live.services.get(name)
        if not service or not service.environment:
            continue
        for path, code in service.functions.items():
            book.functions[FunctionRef(name, path)] = FunctionAddress(
                service.sid, service.environment.sid, code.sid, f"https://{service.environment.domain_name}{path}")
    for flow in desired.flows:
        found = live.flows.get(flow.friendly_name)
        if found:
            book.flows[flow.name] = FlowAddress(found.sid, found.webhook_url)
    return book


def compile_all(desired: Desired, book: AddressBook) -> dict[str, dict[str, Any]]:
    return {f.name: compile_flow(f.definition, vars=desired.env.vars, book=book) for f in desired.flows}


def make_plan(gw: Gateway, project: Project, env: Environment, *, cache: ContentCache, plan_key: bytes,
              prune: bool | None = None, include_layout: bool = False, git_sha: str | None = None) -> Planned:
    """`plan_key` keys the HMACs of variable values in the fingerprint (see `fingerprint`)."""
    prune = env.prune if prune is None else prune
    desired = Desired(project, env)
    live = read_live(gw, desired, cache, skip_known_flows=True)
    book = address_book(desired, live)
    changes: list[Change] = []

    for name, (source, settings) in desired.services.items():
        changes += serverless.plan(name, source, settings, live.services.get(name), prune)

    compiled = compile_all(desired, book)
    flows.fetch_definitions(gw, [found for flow in desired.flows
                                 if (found := live.flows.get(flow.friendly_name)) and found.definition is None
                                 and (found.known_hash != flows.definition_hash(compiled[flow.name])
                                      or found.status != flow.status)], cache)
    managed = set()
    for flow in desired.flows:
        managed.add(flow.friendly_name)
        changes.append(flows.plan(flow.name, flow.friendly_name, flow.status, compiled[flow.name],
                                  live.flows.get(flow.friendly_name),
                                  lambda d, symbolic=flow.definition: mask_secret_strings(d, symbolic, env.vars)))
    project_names = {f.friendly_name: f.name for f in project.flows.values()}
    changes += [flows.plan_unmanaged(project_names.get(name, name), f, prune)
                for name, f in sorted(live.flows.items()) if name not in managed]

    for number, binding in sorted(desired.env.numbers.items()):
        changes.append(numbers.plan(number, numbers.desired_fields(binding, book.url_for), live.numbers.get(number)))
    managed_urls = {a.webhook_url for a in book.flows.values()} | {a.url for a in book.functions.values()}
    for number, found in sorted(live.numbers.items()):
        if number not in desired.env.numbers:
            unbind = numbers.plan_unbind(found, managed_urls, prune)
            if unbind:
                changes.append(unbind)

    plan = Plan(environment=env.name, account_sid=gw.account_sid,
                changes=mask_secrets(changes, desired.secret_values()),
                fingerprint=fingerprint(live, plan_key), git_sha=git_sha, created_at=now(),
                include_layout=include_layout, prune=prune)
    return Planned(plan, desired, live)


def fingerprint(live: Live, plan_key: bytes) -> dict[str, Any]:
    """What the plan was computed from; apply refuses a saved plan when this moved.

    Variable values (any may be a secret) are HMACs keyed by `plan_key`, which never leaves
    the machine: a plain hash, even salted with a SID the plan file holds, gives a short
    secret away to a brute force in a second. `plan_key` names the key (a hash of it), so
    apply can tell whether it can check them (see `comparable_fingerprints`).
    """
    return {
        "flows": {name: flows.fingerprint(f) for name, f in sorted(live.flows.items())},
        "services": {name: serverless.fingerprint(s, plan_key) for name, s in sorted(live.services.items())},
        "numbers": {n: numbers.fingerprint(x) for n, x in sorted(live.numbers.items())},
        "plan_key": key_id(plan_key),
    }


def comparable_fingerprints(saved: dict[str, Any], fresh: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The parts of two fingerprints to compare for a saved plan. A plan made on another machine
    (another plan key) cannot have its variable HMACs checked: they are left out, and a variable
    moved since is caught only when it changes what apply would do (see `comparable`)."""
    same_key = saved.get("plan_key") == fresh.get("plan_key")

    def checked(fingerprint: dict[str, Any]) -> dict[str, Any]:
        services = {name: {k: v for k, v in service.items() if same_key or k != "variables"}
                    for name, service in fingerprint.get("services", {}).items()}
        return {**{k: v for k, v in fingerprint.items() if k != "plan_key"}, "services": services}

    return checked(saved), checked(fresh)


def order_flows(sources: list[Any]) -> list[Any]:
    """Topological order over run-subflow references (a subflow before its callers).

    Cycles are rejected by `validate`; here a cycle would simply keep manifest order.
    Depth-first with an explicit stack, not recursion: `validate` accepts a chain of a
    thousand subflows, which must not end in a RecursionError here.
    """
    by_name = {s.name: s for s in sources}
    ordered: list[Any] = []
    seen: set[str] = set()

    def subflows(source: Any) -> Iterator[Any]:
        for state in source.definition.get("states", []):
            target = (state.get("properties") or {}).get("flow") if state.get("type") == "run-subflow" else None
            if target in by_name:
                yield by_name[target]

    for root in sources:
        if root.name in seen:
            continue
        seen.add(root.name)
        stack = [(root, subflows(root))]
        while stack:
            source, pending = stack[-1]
            sub = next((s for s in pending if s.name not in seen), None)
            if sub is None:
                stack.pop()
                ordered.append(source)
            else:
                seen.add(sub.name)
                stack.append((sub, subflows(sub)))
    return ordered


def mask_secrets(changes: list[Change], secrets: list[str]) -> list[Change]:
    """Replace every secret value that a compiled definition or URL may carry with the mask."""
    if not secrets:
        return changes

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            return mask_text(value, secrets)
        if isinstance(value, dict):
            return {k: scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value

    return [Change(c.kind, c.address, c.action, scrub(c.before), scrub(c.after),
                   [WidgetChange(w.widget, w.what, w.detail, scrub(w.before), scrub(w.after)) for w in c.widgets],
                   c.reason) for c in changes]


def mask_text(text: str, secrets: list[str]) -> str:
    """`text` with every secret value in it replaced by the mask (longest first)."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def comparable(plan: Plan) -> list[dict[str, Any]]:
    """The part of a plan that must be identical between a saved plan and apply time: the
    changes apply would make (not unmanaged resources, not layout moves it leaves alone)."""
    def essential(change: Change) -> dict[str, Any]:
        data = change.to_dict()
        data["widgets"] = [w for w in data["widgets"] if plan.include_layout or w["what"] != "layout"]
        return data

    return [essential(c) for c in plan.actionable]
