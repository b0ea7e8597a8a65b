"""The phone-number bindings provider (the Twilio side is `twideploy.resources.numbers`).

A binding's URLs are recomputed when applied, since a flow or function this deploy creates
is known only then; the result must be the planned one with those unknowns resolved.
"""

from __future__ import annotations

from twideploy.manifest.references import AddressBook
from twideploy.plan.desired import Desired, Live
from twideploy.plan.model import Action, Change
from twideploy.providers.base import ApplyContext, PlanContext, verify
from twideploy.resources import numbers
from twideploy.resources.numbers import LiveNumber
from twideploy.state.cache import ContentCache
from twideploy.twilio_api.gateway import Gateway


class NumbersProvider:
    family = "number"
    name = "numbers"
    undo = numbers.UNDO

    def read(self, gw: Gateway, desired: Desired, cache: ContentCache, *, lazy: bool = False) -> dict[str, LiveNumber]:
        return numbers.read(gw) if desired.env.numbers else {}

    def add_addresses(self, book: AddressBook, desired: Desired, live: Live) -> None:
        """Nothing refers to a number."""

    def plan(self, ctx: PlanContext) -> list[Change]:
        bindings, live = ctx.desired.env.numbers, ctx.live.numbers
        changes = [numbers.plan(number, numbers.desired_fields(binding, ctx.book.url_for), live.get(number))
                   for number, binding in sorted(bindings.items())]
        managed_urls = {a.webhook_url for a in ctx.book.flows.values()} | {a.url for a in ctx.book.functions.values()}
        unbinds = [numbers.plan_unbind(found, managed_urls, ctx.prune)
                   for number, found in sorted(live.items()) if number not in bindings]
        return changes + [change for change in unbinds if change]

    def fingerprint(self, live: Live, plan_key: bytes) -> dict[str, object]:
        return {n: numbers.fingerprint(x) for n, x in sorted(live.numbers.items())}

    def check(self, ctx: ApplyContext, changes: list[Change]) -> None:
        """Nothing to ask Twilio before writing."""

    def apply(self, ctx: ApplyContext, changes: list[Change]) -> None:
        live, bindings = ctx.live, ctx.desired.env.numbers
        flow_names = {flow.webhook_url: name for name, flow in live.flows.items()}
        for change in changes:
            number = change.address.owner
            if number in bindings:
                wanted = numbers.desired_fields(bindings[number], ctx.book.url_for)
                if change.action is Action.UPDATE:
                    verify(change.address, change.after, wanted)
                if numbers.current(live.numbers[number], wanted) == wanted:
                    continue
                change = Change("number", change.address, Action.UPDATE, change.before, wanted)
            elif change.action is not Action.UPDATE:
                continue
            numbers.apply(ctx.gw, change, live.numbers[number], ctx.write, flow_names)

    def prune(self, ctx: ApplyContext, changes: list[Change]) -> None:
        """A number is never deleted: an unbind is an update (see `apply`)."""
