"""Phone-number bindings: a number's webhook URLs point at a flow, a function or a URL.

twideploy never buys or releases a number. A number in the manifests is owned: its five
webhook URLs are what the binding names, and empty where it names none. A number outside
the manifests that still points at a managed flow or function is only reported, and with
--prune its URLs are cleared (unbound).

A binding's URLs are recomputed when applied, since a flow or function this deploy creates
is known only then; the result must be the planned one with those unknowns resolved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from twideploy.addresses import Address
from twideploy.errors import TwideployError
from twideploy.manifest import Binding
from twideploy.manifest.references import AddressBook, FlowRef, FunctionRef, Target, UrlTarget, format_target
from twideploy.plan.desired import Desired, Live
from twideploy.plan.model import Action, Change
from twideploy.plan.scheduler import Task
from twideploy.providers.audit import DRIFT, INFO, AuditContext, DriftItem, iso
from twideploy.providers.base import (
    ApplyContext,
    DecompileContext,
    ExportContext,
    PlanContext,
    UndoFunction,
    Writer,
    digest,
    verify,
)
from twideploy.state.cache import ContentCache
from twideploy.twilio_api import numbers as numbers_api
from twideploy.twilio_api import studio
from twideploy.twilio_api.gateway import Gateway

#: binding key in the manifest -> (URL field, method field) of IncomingPhoneNumber
FIELDS: dict[str, tuple[str, str | None]] = {
    "voice": ("voice_url", "voice_method"),
    "voice_fallback": ("voice_fallback_url", "voice_fallback_method"),
    "sms": ("sms_url", "sms_method"),
    "sms_fallback": ("sms_fallback_url", "sms_fallback_method"),
    "status_callback": ("status_callback", "status_callback_method"),
}
ALL_FIELDS = [f for pair in FIELDS.values() for f in pair if f] + ["friendly_name"]


@dataclass
class LiveNumber:
    sid: str
    phone_number: str
    fields: dict[str, str | None]


def read(gw: Gateway) -> dict[str, LiveNumber]:
    return {r.phone_number: LiveNumber(r.sid, r.phone_number, {f: r.fields[f] for f in ALL_FIELDS})
            for r in numbers_api.list_numbers(gw)}


def desired_fields(binding: Binding, url_for: Callable[[Target], str]) -> dict[str, str]:
    """The IncomingPhoneNumber fields a binding sets, with targets turned into URLs.

    A number in the manifests is owned: every webhook URL it does not name is empty, so
    removing `voice_fallback` from a binding clears the live fallback, as Terraform users
    expect. Methods are set only with their URL.
    """
    wanted: dict[str, str] = {}
    for key, (url_field, method_field) in FIELDS.items():
        target = getattr(binding, key, None)
        wanted[url_field] = "" if target is None else url_for(target)
        if target is not None and method_field:
            wanted[method_field] = "POST"
    if binding.friendly_name:
        wanted["friendly_name"] = binding.friendly_name
    return wanted


def plan(number: str, wanted: dict[str, str], live: LiveNumber | None) -> Change:
    address = Address.number(number)
    if live is None:
        raise TwideployError(f"number {number} is not in this account; twideploy binds numbers you own, "
                             f"it never buys them")
    before = current(live, wanted)
    return Change("number", address, Action.NOOP if before == wanted else Action.UPDATE, before, wanted)


def current(live: LiveNumber, wanted: dict[str, str]) -> dict[str, str]:
    """The live values of the fields `wanted` names (Twilio answers null or "" for no URL)."""
    return {f: live.fields.get(f) or "" for f in wanted}


def plan_unbind(live: LiveNumber, managed_urls: set[str], prune: bool) -> Change | None:
    """A number outside the manifests that still points at one of our flows or functions."""
    bound = {f: v for f, v in live.fields.items() if f.endswith("_url") or f == "status_callback"}
    ours = {f: v for f, v in bound.items() if v in managed_urls}
    if not ours:
        return None
    cleared = {f: "" for f in ours}
    return Change("number", Address.number(live.phone_number), Action.UPDATE if prune else Action.UNMANAGED,
                  ours, cleared if prune else None, reason="not in the manifests; unbound only with --prune")


def fingerprint(live: LiveNumber) -> str:
    return digest(*(f"{k}={live.fields.get(k) or ''}" for k in ALL_FIELDS))


def apply(gw: Gateway, change: Change, live: LiveNumber, write: Writer, flow_names: dict[str, str]) -> None:
    """Set a number's URLs. The undo data also names the flow each previous URL pointed at
    (`flow_names`: webhook URL -> friendly name): a rollback that recreates a pruned flow gives
    it a new SID, so a new webhook URL, and the number must point at that one."""
    wanted = change.after or {}
    before = {f: live.fields.get(f) or "" for f in wanted}
    undo = {"sid": live.sid, "phone_number": live.phone_number, "fields": before,
            "flows": {f: flow_names[url] for f, url in before.items() if url in flow_names}}
    write("number.update", change.address, undo, lambda: {"sid": numbers_api.update_number(gw, live.sid, wanted).sid})
    live.fields.update(wanted)


def _undo_update(gw: Gateway, undo: dict, result: dict) -> str:
    fields = dict(undo["fields"])
    if undo.get("flows"):  # each flow's URL as it is now: the flow may have been recreated
        urls = {f.friendly_name: f.webhook_url for f in studio.list_flows(gw)}
        missing = sorted({name for name in undo["flows"].values() if name not in urls})
        if missing:  # its recreate failed (or comes later): pointing at the deleted flow would be a dead URL
            raise TwideployError(f"{undo['phone_number']} pointed at flow {', '.join(missing)}, which does not "
                                 f"exist now (its undo failed?); left for the next rollback")
        fields.update({f: urls[name] for f, name in undo["flows"].items()})
    numbers_api.update_number(gw, undo["sid"], fields)
    return f"restored the URLs of {undo['phone_number']}"


UNDO: dict[str, UndoFunction] = {"number.update": _undo_update}


def needs(binding: Binding) -> frozenset[Address]:
    """What a binding's write waits for: the flows it points at and the builds of the services
    whose functions it points at (their URLs are known, and answer, once they are live)."""
    targets = [getattr(binding, key, None) for key in FIELDS]
    return frozenset({Address.flow(t.name) for t in targets if isinstance(t, FlowRef)} |
                     {Address.service(t.service, "build") for t in targets if isinstance(t, FunctionRef)})


# --------------------------------------------------------------------------- drift

def _attribute(ctx: AuditContext, change: Change) -> DriftItem | None:
    if change.action is Action.NOOP:
        return None
    number = change.address.owner
    live = ctx.live.numbers.get(number)
    before, after = change.before or {}, change.after or {}
    if change.action is Action.UNMANAGED:
        return DriftItem(change.address, "number", INFO, "unmanaged",
                         "not in the manifests but points at a managed flow or function "
                         "(unbound only with --prune)", [f"{k}: {v}" for k, v in before.items()])
    lines = [f"{k}: live {before.get(k) or '(empty)'}, manifests {after.get(k) or '(empty)'}"
             for k in after if before.get(k) != after.get(k)]
    record = numbers_api.fetch_number(ctx.gw, live.sid) if live else None
    updated = record.date_updated if record else None
    outside, summary = ctx.dated(change.address, updated, "number URLs differ from the manifests")
    return DriftItem(change.address, "number", DRIFT, change.action.value, summary, lines, outside, iso(updated))


class _NumberExport:
    """Export of the account's number bindings: a number is exported when one of its URLs
    points at an exported flow or function (or one the environment already deploys); its
    other URLs are kept as URLs."""

    def __init__(self, ctx: ExportContext):
        self.found = read(ctx.gw)

    def select(self, ctx: ExportContext) -> None:
        """Chosen in `write`: by what it points at, which the kinds before it choose."""

    def write(self, ctx: ExportContext) -> None:
        bindings = {number: binding for number, live in sorted(self.found.items())
                    if (binding := _binding(ctx, number, live)) is not None}
        for number, binding in bindings.items():
            bound = ctx.env.numbers.get(number)
            if bound is not None and bound.to_dict() == binding:
                continue
            ctx.environment.setdefault("numbers", {})[number] = binding
            ctx.environment_changed = True
        ctx.report.numbers = sorted(bindings)


def _binding(ctx: ExportContext, number: str, live: LiveNumber) -> dict[str, str] | None:
    """The binding of `number` as the environment file writes it, or None when it points at
    nothing exported."""
    binding: dict[str, str] = {}
    ours = False
    for key, (url_field, method_field) in FIELDS.items():
        url = live.fields.get(url_field)
        if not url:
            continue
        target = ctx.book.target_for_url(url)
        if isinstance(target, FlowRef) and Address.flow(target.name) not in ctx.kept or \
                isinstance(target, FunctionRef) and Address.service(target.service) not in ctx.kept:
            ctx.report.warnings.append(f"number {number}: {url_field} points at {format_target(target)}, "
                                       f"which is not exported; kept as its URL")
            target = UrlTarget(url)
        if isinstance(target, (FlowRef, FunctionRef)):
            ours = True
        elif not url.startswith("https://"):
            ctx.report.warnings.append(f"number {number}: {url_field} {url} is not https://; not exported")
            continue
        binding[key] = format_target(target) if not isinstance(target, UrlTarget) else url
        method = live.fields.get(method_field) if method_field else None
        if method_field and method and method.upper() != "POST":
            ctx.report.warnings.append(f"number {number}: {method_field} is {method}; twideploy binds with "
                                       f"POST, so the next apply changes it")
    return binding if ours else None


class NumbersProvider:
    family = "number"
    name = "numbers"
    undo = UNDO

    def read(self, gw: Gateway, desired: Desired, cache: ContentCache, *, lazy: bool = False) -> dict[str, LiveNumber]:
        return read(gw) if desired.env.numbers else {}

    def add_addresses(self, book: AddressBook, desired: Desired, live: Live) -> None:
        """Nothing refers to a number."""

    def plan(self, ctx: PlanContext) -> list[Change]:
        bindings, live = ctx.desired.env.numbers, ctx.live.numbers
        changes = [plan(number, desired_fields(binding, ctx.book.url_for), live.get(number))
                   for number, binding in sorted(bindings.items())]
        managed_urls = {a.webhook_url for a in ctx.book.flows.values()} | {a.url for a in ctx.book.functions.values()}
        unbinds = [plan_unbind(found, managed_urls, ctx.prune)
                   for number, found in sorted(live.items()) if number not in bindings]
        return changes + [change for change in unbinds if change]

    def fingerprint(self, live: Live, plan_key: bytes) -> dict[str, object]:
        return {n: fingerprint(x) for n, x in sorted(live.numbers.items())}

    def check(self, ctx: ApplyContext, changes: list[Change]) -> None:
        """Nothing to ask Twilio before writing."""

    def apply(self, ctx: ApplyContext, changes: list[Change]) -> list[Task]:
        """One task per number updated, after the flows and the services' builds it points at."""
        bindings = ctx.desired.env.numbers
        flow_names = {flow.webhook_url: name for name, flow in ctx.live.flows.items()}
        return [Task(change.address, partial(self._bind, ctx, change, flow_names),
                     needs(bindings[change.address.owner]) if change.address.owner in bindings else frozenset())
                for change in changes if change.action is Action.UPDATE]

    @staticmethod
    def _bind(ctx: ApplyContext, change: Change, flow_names: dict[str, str]) -> None:
        """Write a binding as it is now that what it points at exists (or an unbind)."""
        live, bindings, number = ctx.live, ctx.desired.env.numbers, change.address.owner
        if number in bindings:
            wanted = desired_fields(bindings[number], ctx.book.url_for)
            if change.action is Action.UPDATE:
                verify(change.address, change.after, wanted)
            if current(live.numbers[number], wanted) == wanted:
                return
            change = Change("number", change.address, Action.UPDATE, change.before, wanted)
        apply(ctx.gw, change, live.numbers[number], ctx.write, flow_names)

    def prune(self, ctx: ApplyContext, changes: list[Change]) -> list[Task]:
        """A number is never deleted: an unbind is an update (see `apply`)."""
        return []

    def attribute(self, ctx: AuditContext, changes: list[Change]) -> list[DriftItem]:
        return [item for change in changes if (item := _attribute(ctx, change)) is not None]

    def decompile(self, ctx: DecompileContext) -> None:
        """Bindings live in the environment files, which promotion keeps as they are."""

    def export(self, ctx: ExportContext) -> _NumberExport:
        return _NumberExport(ctx)
