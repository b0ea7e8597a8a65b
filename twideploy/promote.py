"""Promote: deploy what one environment runs (or the manifests at a git ref) to another.

Design: build an in-memory Project whose flows and services come from the `--from`
environment's *live* state, keep the environments from the manifests, and hand it to the
engine's plan/apply for the `--to` environment - so promotion has exactly apply's safety
(lock, journal, Studio validation, rollback on failure, confirmation).

* flows: each live definition is decompiled with the from-account's AddressBook and the
  from-environment's vars (function SIDs/URL -> `function: svc/path`, subflow SID ->
  `flow: name`, var values -> `${vars.x}`), then compiled by the engine for `--to`. Where the
  manifests put a secret var, their template is used (the live text may hold an earlier value
  of the from-environment's secret, which must not reach `--to`); a live text that differs
  there in more than the secret is refused;
* services: the function code of the from-environment's *deployed build* (Function Version
  Content), with its runtime and dependencies. Asset content cannot be read through the API,
  so assets come from the manifests (only those the from build deploys);
* environments (vars, service variables, numbers, which flows): from the manifests.

With `ref`, the whole project is read from git at that commit (no checkout) instead.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twideploy import deploy
from twideploy.addresses import Address
from twideploy.errors import ManifestError, TwideployError
from twideploy.gitinfo import extract_manifests
from twideploy.manifest import Environment, Project, load_project
from twideploy.manifest.validation import validate_project
from twideploy.plan.desired import Desired
from twideploy.plan.executor import Outcome
from twideploy.plan.model import Plan
from twideploy.plan.planner import Planned, address_book, read_live
from twideploy.providers.base import DecompileContext, Progress
from twideploy.providers.registry import PROVIDERS
from twideploy.state.cache import ContentCache
from twideploy.state.history import History
from twideploy.twilio_api.gateway import DEFAULT_CONCURRENCY, Gateway
from twideploy.workspace import Workspace, open_account


@dataclass
class Source:
    """Where each promoted resource came from: address -> one line, plus the whole."""

    description: str
    origin: dict[Address, str] = field(default_factory=dict)
    details: dict[Address, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def for_change(self, address: Address) -> str | None:
        """A service's parts come from where the service came from."""
        return self.origin.get(address) or self.origin.get(address.resource)


@dataclass
class PromoteResult:
    planned: Planned
    outcome: Outcome | None
    source: Source
    git_sha: str | None


# --------------------------------------------------------------------------- from live state


def project_from_live(project: Project, from_env: Environment, to_env: Environment, gw: Gateway,
                      cache: ContentCache, history: History) -> tuple[Project, Source]:
    """The project as `from_env` runs it: its live flows and deployed code, this project's environments.
    `history`: `from_env`'s journals, which say which deploy made each live build."""
    desired = Desired(project, from_env)
    live = read_live(gw, desired, cache)
    context = DecompileContext(gw, project, from_env, to_env, live, address_book(desired, live), history)
    for provider in PROVIDERS:
        provider.decompile(context)
    return context.project, Source(f"what {from_env.name} runs (account {gw.account_sid})", context.origin,
                                   context.details, context.warnings)


def _refuse_invalid(project: Project, env_name: str) -> None:
    """As apply: nothing reaches the account from manifests that `validate` rejects."""
    errors = [p for p in validate_project(project, [env_name]) if p.severity == "error"]
    if errors:
        raise ManifestError(errors)


def project_at_ref(root: Path, ref: str, *, validate_for: str | None = None) -> tuple[Project, str]:
    """The whole project as committed at `ref` (read from git, no checkout); state stays in `root`."""
    with tempfile.TemporaryDirectory(prefix="twideploy-ref-") as folder:
        sha = extract_manifests(root, ref, Path(folder))
        project = load_project(folder)
        if validate_for is not None:
            _refuse_invalid(project, validate_for)
    return dataclasses.replace(project, root=Path(root).resolve()), sha


# --------------------------------------------------------------------------- entry point


def promote(project: Project, *, to: str, from_env: str | None = None, ref: str | None = None,
            git_sha: str | None = None, options: deploy.ApplyOptions | None = None,
            confirm: Callable[[Plan, Source], bool] = lambda plan, source: True,
            progress: Progress = lambda message: None, parallelism: int = DEFAULT_CONCURRENCY,
            notify: Callable[[str], None] = lambda message: None,
            gateways: dict[str, Gateway] | None = None) -> PromoteResult:
    """Plan and (after `confirm`) apply `from_env`'s live state, or the manifests at `ref`, to `to`.

    `parallelism`: requests in flight at most on each account. `gateways` (environment name ->
    Gateway) replaces opening the accounts (tests, tools).
    """
    if from_env is None and ref is None:
        raise TwideployError("promote needs --from ENV or --ref GIT_REF")
    options = options or deploy.ApplyOptions()
    if ref is not None:
        project, sha = project_at_ref(project.root, ref, validate_for=to)
        source = Source(f"the manifests at git {ref} ({sha})")
        git_sha = sha
    to_env = project.environment(to)
    if from_env is not None and from_env == to:
        raise TwideployError("--from and --to are the same environment")
    if ref is None:
        _refuse_invalid(project, to)
    # Promoting live state (no --ref): the environment to read it from.
    source_env = project.environment(from_env) if ref is None and from_env is not None else None

    def account(env: Environment) -> Any:
        if gateways and env.name in gateways:
            from contextlib import nullcontext
            return nullcontext(gateways[env.name])
        return open_account(project, env, concurrency=parallelism)

    with account(to_env) as to_gw:
        if source_env is not None:
            with account(source_env) as from_gw:
                if from_gw.account_sid == to_gw.account_sid:
                    raise TwideployError(f"{from_env} and {to} are the same account ({to_gw.account_sid}); "
                                         f"promote copies between two accounts")
                source_ws = Workspace(project, source_env, from_gw)
                cache = source_ws.content_cache()
                project, source = project_from_live(project, source_env, to_env, from_gw, cache,
                                                    source_ws.store.history())
                cache.save()
        else:
            for change_key in [Address.flow(n) for n in to_env.flows] + [Address.service(n) for n in to_env.services]:
                source.origin[change_key] = f"git {ref} ({sha[:12]})"
        ws = Workspace(project, to_env, to_gw)
        options = dataclasses.replace(options, git_sha=git_sha)
        planned, outcome = deploy.apply(ws, options, confirm=lambda plan: confirm(plan, source), progress=progress,
                                        notify=notify)
    return PromoteResult(planned, outcome, source, git_sha)
