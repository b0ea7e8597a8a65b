"""A fourth resource kind is one provider and one registry line: planner, executor, journal and
rollback pick it up with no other change.

The toy kind is a "banner" (one text an account shows): its live state is a dict standing in
for the account, its desired value comes from the environment's `vars.banner`. The three real
kinds still run against the emulator. This is the example docs/architecture.md shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.example import copy_example
from twideploy import deploy
from twideploy.addresses import Address
from twideploy.emulator import Emulator, account_sid_for
from twideploy.export import export_account
from twideploy.manifest import load_project
from twideploy.plan.model import Action, Change
from twideploy.plan.scheduler import Task
from twideploy.providers import registry
from twideploy.providers.base import ApplyContext, PlanContext
from twideploy.secrets import Secret
from twideploy.twilio_api.gateway import Credentials, Gateway
from twideploy.workspace import Workspace
from twideploy.yaml_writer import plain, read_document

ACCOUNT: dict[str, str] = {}  # the toy kind's "remote": banner name -> text


class BannerProvider:
    family = "banner"
    name = "banners"
    undo = {"banner.set": lambda gw, undo, result: _restore(undo)}

    def read(self, gw, desired, cache, *, lazy=False):
        return dict(ACCOUNT)

    def add_addresses(self, book, desired, live):
        pass

    def plan(self, ctx: PlanContext) -> list[Change]:
        wanted, live = ctx.desired.env.vars.get("banner"), ctx.live.parts["banners"].get("main")
        action = Action.NOOP if wanted == live else Action.CREATE if live is None else Action.UPDATE
        return [Change("banner", Address("banner", "main"), action,
                       None if live is None else {"text": live}, {"text": wanted})]

    def fingerprint(self, live, plan_key):
        return live.parts["banners"]

    def check(self, ctx: ApplyContext, changes: list[Change]) -> None:
        pass

    def apply(self, ctx: ApplyContext, changes: list[Change]) -> list[Task]:
        return [Task(change.address, lambda text=change.after["text"]: ctx.write(
                    "banner.set", Address("banner", "main"), {"name": "main", "text": ACCOUNT.get("main")},
                    lambda: ACCOUNT.update(main=text)))
                for change in changes if change.action in (Action.CREATE, Action.UPDATE)]

    def prune(self, ctx: ApplyContext, changes: list[Change]) -> list[Task]:
        return []

    def attribute(self, ctx, changes):
        return []

    def decompile(self, ctx):
        pass

    def export(self, ctx):
        return BannerExport()


class BannerExport:
    """The toy kind's export: the live banner into the environment file's vars."""

    def select(self, ctx):
        pass

    def write(self, ctx):
        if "main" in ACCOUNT:
            ctx.environment.setdefault("vars", {})["banner"] = ACCOUNT["main"]
            ctx.environment_changed = True


def _restore(undo: dict) -> str:
    if undo["text"] is None:
        ACCOUNT.pop(undo["name"], None)
    else:
        ACCOUNT[undo["name"]] = undo["text"]
    return f"banner {undo['name']} restored"


@pytest.fixture
def banners():
    """The toy kind registered last (it refers to nothing); removed afterwards."""
    ACCOUNT.clear()
    provider = BannerProvider()
    registry.PROVIDERS.append(provider)
    yield ACCOUNT
    registry.PROVIDERS.remove(provider)


@pytest.fixture
def workspace(tmp_path: Path):
    """A workspace on a fresh emulator account, the environment's `vars.banner` set to `banner`."""
    project_dir = copy_example(tmp_path / "project")
    with Emulator(tmp_path / "emulator.sqlite", account_sid=account_sid_for("local")) as emulator:
        def open_ws(banner: str) -> Workspace:
            project = load_project(project_dir)
            env = project.environment("local")
            env.vars["banner"] = banner
            emulator.seed_numbers(list(env.numbers))
            gw = Gateway(Credentials(emulator.account_sid, emulator.account_sid, Secret(emulator.auth_token)),
                         base_url=emulator.base_url)
            return Workspace(project, env, gw)
        yield open_ws


def test_a_registered_kind_is_planned_applied_journalled_and_rolled_back(banners, workspace):
    plan = deploy.plan(workspace("Closed on Monday")).plan
    [banner] = [c for c in plan.changes if c.kind == "banner"]
    assert (str(banner.address), banner.action, banner.after) == \
        ("banner.main", Action.CREATE, {"text": "Closed on Monday"})
    assert "banners" in plan.fingerprint

    _, outcome = deploy.apply(workspace("Closed on Monday"), deploy.ApplyOptions())
    assert banners == {"main": "Closed on Monday"}
    assert "create banner.main" in outcome.report and "create flow.ivr-main" in outcome.report
    assert not deploy.plan(workspace("Closed on Monday")).plan.has_changes

    _, outcome = deploy.apply(workspace("Open every day"), deploy.ApplyOptions())
    assert outcome.report == ["update banner.main"] and banners == {"main": "Open every day"}

    deploy.rollback(workspace("Open every day"))
    assert banners == {"main": "Closed on Monday"}
    deploy.rollback(workspace("Open every day"))
    assert banners == {}


def test_a_registered_kind_is_exported_with_the_built_in_ones(banners, workspace):
    deploy.apply(workspace("Closed on Monday"), deploy.ApplyOptions())
    ws = workspace("ignored")
    report = export_account(ws.project, ws.env, ws.gateway)
    assert plain(read_document(ws.env.file))["vars"]["banner"] == "Closed on Monday"
    assert "ivr-main" in report.flows and report.services and report.numbers
    assert report.created == [] and "environments/local.yaml" in report.updated
