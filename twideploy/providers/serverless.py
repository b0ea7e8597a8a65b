"""The Serverless provider: services, their environment, code, build, deployment and variables
(the Twilio side is `twideploy.resources.serverless`)."""

from __future__ import annotations

from twideploy.addresses import Address
from twideploy.manifest.references import AddressBook, FunctionAddress, FunctionRef
from twideploy.plan.desired import Desired, Live
from twideploy.plan.model import Action, Change
from twideploy.providers.base import ApplyContext, PlanContext, verify
from twideploy.resources import serverless
from twideploy.resources.serverless import LiveService
from twideploy.state.cache import ContentCache
from twideploy.twilio_api.gateway import Gateway


class ServerlessProvider:
    family = "service"
    name = "services"
    undo = serverless.UNDO

    def read(self, gw: Gateway, desired: Desired, cache: ContentCache, *, lazy: bool = False) -> dict[str, LiveService]:
        wanted = {name: source.unique_name for name, (source, _) in desired.services.items()}
        env_names = {name: settings.environment for name, (_, settings) in desired.services.items()}
        return serverless.read(gw, wanted, env_names, cache)

    def add_addresses(self, book: AddressBook, desired: Desired, live: Live) -> None:
        for name in desired.services:
            _enter(book, name, live.services.get(name))

    def plan(self, ctx: PlanContext) -> list[Change]:
        return [change for name, (source, settings) in ctx.desired.services.items()
                for change in serverless.plan(name, source, settings, ctx.live.services.get(name), ctx.prune)]

    def fingerprint(self, live: Live, plan_key: bytes) -> dict[str, object]:
        return {name: serverless.fingerprint(s, plan_key) for name, s in sorted(live.services.items())}

    def check(self, ctx: ApplyContext, changes: list[Change]) -> None:
        """The code apply uploads is the code the plan hashed (a file edited since is refused)."""
        for name, (source, _) in ctx.desired.services.items():
            files = {Address.service(name, f.kind, f.path): f for f in [*source.functions, *source.assets]}
            for change in changes:
                if change.address in files and change.action in (Action.CREATE, Action.UPDATE):
                    file = files[change.address]
                    verify(change.address, change.after,
                           {"path": file.path, "visibility": file.visibility, "sha256": file.content_hash})

    def apply(self, ctx: ApplyContext, changes: list[Change]) -> None:
        history = serverless.secret_history(ctx.records)
        for name, (source, settings) in ctx.desired.services.items():
            mine = [c for c in changes if c.address.resource == Address.service(name)]
            if all(c.action in (Action.NOOP, Action.UNMANAGED) for c in mine):
                continue
            deployer = serverless.ServiceDeployer(ctx.gw, name, source, settings, ctx.live.services.get(name),
                                                  ctx.write, ctx.cache, ctx.progress, history)
            ctx.live.services[name] = deployer.apply(mine)
            _enter(ctx.book, name, ctx.live.services[name])

    def prune(self, ctx: ApplyContext, changes: list[Change]) -> None:
        for name in ctx.desired.services:
            if name in ctx.live.services:
                serverless.delete_unmanaged_code(ctx.gw, ctx.live.services[name],
                                                 [c for c in changes if c.address.resource == Address.service(name)],
                                                 ctx.write)


def _enter(book: AddressBook, name: str, service: LiveService | None) -> None:
    """The functions of service `name` in the address book (once it has an environment)."""
    if not service or not service.environment:
        return
    for path, code in service.functions.items():
        book.functions[FunctionRef(name, path)] = FunctionAddress(
            service.sid, service.environment.sid, code.sid, f"https://{service.environment.domain_name}{path}")
