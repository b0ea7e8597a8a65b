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
from typing import Any

from twideploy.manifest import Environment, Project
from twideploy.manifest.references import AddressBook
from twideploy.plan.desired import Desired, Live
from twideploy.plan.model import Change, Plan, WidgetChange
from twideploy.providers.base import PlanContext
from twideploy.providers.registry import PROVIDERS
from twideploy.secrets import MASK
from twideploy.state.cache import ContentCache
from twideploy.state.journal import JsonObject, now
from twideploy.state.plan_key import key_id
from twideploy.twilio_api.gateway import Gateway


@dataclass
class Planned:
    """A plan plus what apply needs that a plan file must not hold (code, secrets): the desired
    and live state it was computed from, its address book and each flow's compiled definition
    (flow name -> definition), which apply uses rather than building them again."""

    plan: Plan
    desired: Desired
    live: Live
    book: AddressBook
    compiled: dict[str, JsonObject]


def read_live(gw: Gateway, desired: Desired, cache: ContentCache, *, lazy: bool = False) -> Live:
    """The live state of what `desired` names, every provider's read at once. With `lazy`, content
    whose hash the cache knows may be left unread (see `flows.read`)."""
    parts = gw.map(lambda provider: provider.read(gw, desired, cache, lazy=lazy), PROVIDERS)
    return Live({provider.name: part for provider, part in zip(PROVIDERS, parts, strict=True)})


def address_book(desired: Desired, live: Live) -> AddressBook:
    """Where each name the manifests refer to lives now (what is still to be created is unknown)."""
    book = AddressBook(functions={}, flows={})
    for provider in PROVIDERS:
        provider.add_addresses(book, desired, live)
    return book


def make_plan(gw: Gateway, project: Project, env: Environment, *, cache: ContentCache, plan_key: bytes,
              prune: bool | None = None, include_layout: bool = False, git_sha: str | None = None) -> Planned:
    """`plan_key` keys the HMACs of variable values in the fingerprint (see `fingerprint`)."""
    prune = env.prune if prune is None else prune
    desired = Desired(project, env)
    live = read_live(gw, desired, cache, lazy=True)
    context = PlanContext(gw, desired, live, address_book(desired, live), cache, prune)
    # Concurrently: each provider's plan may read what it still needs (a flow's definition, a function's
    # live code for its diff), and these reads depend on nothing but the live state read above.
    changes = [change for part in gw.map(lambda provider: provider.plan(context), PROVIDERS) for change in part]
    plan = Plan(environment=env.name, account_sid=gw.account_sid,
                changes=mask_secrets(changes, desired.secret_values()),
                fingerprint=fingerprint(live, plan_key), git_sha=git_sha, created_at=now(),
                include_layout=include_layout, prune=prune)
    return Planned(plan, desired, live, context.book, context.compiled)


def fingerprint(live: Live, plan_key: bytes) -> dict[str, Any]:
    """What the plan was computed from; apply refuses a saved plan when this moved.

    Variable values (any may be a secret) are HMACs keyed by `plan_key`, which never leaves
    the machine: a plain hash, even salted with a SID the plan file holds, gives a short
    secret away to a brute force in a second. `plan_key` names the key (a hash of it), so
    apply can tell whether it can check them (see `comparable_fingerprints`).
    """
    return {**{provider.name: provider.fingerprint(live, plan_key) for provider in PROVIDERS},
            "plan_key": key_id(plan_key)}


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
                   [WidgetChange(w.widget, w.what, scrub(w.detail), scrub(w.before), scrub(w.after))
                    for w in c.widgets],
                   c.reason, [mask_text(line, secrets) for line in c.diff]) for c in changes]


def mask_text(text: str, secrets: list[str]) -> str:
    """`text` with every secret value in it replaced by the mask (longest first)."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def comparable(plan: Plan) -> list[dict[str, Any]]:
    """The part of a plan that must be identical between a saved plan and apply time: the
    changes apply would make (not unmanaged resources, not layout moves it leaves alone; not a
    code diff, which only shows what the hashes already pin)."""
    def essential(change: Change) -> dict[str, Any]:
        data = change.to_dict()
        del data["diff"]
        data["widgets"] = [w for w in data["widgets"] if plan.include_layout or w["what"] != "layout"]
        return data

    return [essential(c) for c in plan.actionable]
