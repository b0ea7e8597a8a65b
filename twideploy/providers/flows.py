"""The Studio flows provider (the Twilio side is `twideploy.resources.flows`).

Each flow is compiled once, when planning, into `PlanContext.compiled`; apply writes that
definition, recompiling only a flow that refers to what this deploy creates (it showed
"(known after apply)"), and then only after checking that the result is the planned one with
those unknowns resolved.
"""

from __future__ import annotations

from twideploy.addresses import Address
from twideploy.manifest.references import UNKNOWN, AddressBook, FlowAddress, compile_flow, mask_secret_strings
from twideploy.plan.desired import Desired, Live
from twideploy.plan.model import Action, Change
from twideploy.providers.base import ApplyContext, PlanContext, verify
from twideploy.resources import flows
from twideploy.resources.flows import LiveFlow
from twideploy.state.cache import ContentCache
from twideploy.twilio_api.gateway import Gateway


class FlowsProvider:
    family = "flow"
    name = "flows"
    undo = flows.UNDO

    def read(self, gw: Gateway, desired: Desired, cache: ContentCache, *, lazy: bool = False) -> dict[str, LiveFlow]:
        return flows.read(gw, {f.friendly_name for f in desired.flows}, cache, skip_known=lazy)

    def add_addresses(self, book: AddressBook, desired: Desired, live: Live) -> None:
        for flow in desired.flows:
            found = live.flows.get(flow.friendly_name)
            if found:
                book.flows[flow.name] = FlowAddress(found.sid, found.webhook_url)

    def plan(self, ctx: PlanContext) -> list[Change]:
        desired, live, env = ctx.desired, ctx.live, ctx.desired.env
        for flow in desired.flows:
            ctx.compiled[flow.name] = compile_flow(flow.definition, vars=env.vars, book=ctx.book)
        flows.fetch_definitions(ctx.gw, [found for flow in desired.flows
                                         if (found := live.flows.get(flow.friendly_name)) and found.definition is None
                                         and (found.known_hash != flows.definition_hash(ctx.compiled[flow.name])
                                              or found.status != flow.status)], ctx.cache)
        changes = [flows.plan(flow.name, flow.friendly_name, flow.status, ctx.compiled[flow.name],
                              live.flows.get(flow.friendly_name),
                              lambda d, symbolic=flow.definition: mask_secret_strings(d, symbolic, env.vars))
                   for flow in desired.flows]
        managed = {flow.friendly_name for flow in desired.flows}
        project_names = {f.friendly_name: f.name for f in desired.project.flows.values()}
        return changes + [flows.plan_unmanaged(project_names.get(name, name), f, ctx.prune)
                          for name, f in sorted(live.flows.items()) if name not in managed]

    def fingerprint(self, live: Live, plan_key: bytes) -> dict[str, object]:
        return {name: flows.fingerprint(f) for name, f in sorted(live.flows.items())}

    def check(self, ctx: ApplyContext, changes: list[Change]) -> None:
        """Studio's own validation of every flow this deploy writes, before any write."""
        to_write = {c.address for c in changes if c.action in (Action.CREATE, Action.UPDATE)
                    and (ctx.include_layout or not c.cosmetic_only)}
        sources = [s for s in ctx.desired.flows if Address.flow(s.name) in to_write]
        ctx.gw.map(lambda s: flows.studio_validate(ctx.gw, s.name, s.friendly_name, s.status, ctx.compiled[s.name]),
                   sources)

    def apply(self, ctx: ApplyContext, changes: list[Change]) -> None:
        by_address = {c.address: c for c in changes}
        for source in ctx.desired.flows:
            change = by_address[Address.flow(source.name)]
            if change.action is Action.NOOP or (change.cosmetic_only and not ctx.include_layout):
                continue
            definition = ctx.compiled[source.name]
            if _unknown_in(definition):  # refers to what this deploy made: known now
                resolved = compile_flow(source.definition, vars=ctx.desired.env.vars, book=ctx.book)
                verify(change.address, definition, resolved)
                definition = resolved
            current = flows.apply(ctx.gw, change, source.friendly_name, source.status, definition,
                                  ctx.live.flows.get(source.friendly_name), ctx.commit_message, ctx.write)
            ctx.live.flows[source.friendly_name] = current
            flows.remember(ctx.cache, current)
            ctx.book.flows[source.name] = FlowAddress(current.sid, current.webhook_url)

    def prune(self, ctx: ApplyContext, changes: list[Change]) -> None:
        for change in changes:
            if change.action is Action.DELETE:
                found = ctx.live.flows[change.before["friendly_name"]]
                flows.apply(ctx.gw, change, found.friendly_name, found.status, None, found, "", ctx.write,
                            lambda definition, f=found: ctx.desired.holds_secret(f.friendly_name, definition))


def _unknown_in(value: object) -> bool:
    """Whether a compiled definition refers to something still to be created."""
    if isinstance(value, str):
        return UNKNOWN in value
    if isinstance(value, dict):
        return any(_unknown_in(v) for v in value.values())
    return isinstance(value, list) and any(_unknown_in(v) for v in value)
