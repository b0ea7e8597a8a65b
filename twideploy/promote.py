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
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from twideploy import deploy
from twideploy.addresses import Address
from twideploy.errors import ManifestError, TwideployError
from twideploy.gitinfo import extract_manifests
from twideploy.manifest import CodeFile, Environment, FlowSource, Project, ServiceSource, decompile_flow, load_project
from twideploy.manifest.references import restore_secret_strings
from twideploy.manifest.validation import validate_project
from twideploy.plan.desired import Desired
from twideploy.plan.executor import Outcome
from twideploy.plan.model import Plan
from twideploy.plan.planner import Planned, address_book, read_live
from twideploy.providers import flows as flow_resources
from twideploy.providers import serverless
from twideploy.state import commits
from twideploy.state.cache import ContentCache
from twideploy.state.history import History
from twideploy.state.paths import StatePaths
from twideploy.twilio_api import serverless as serverless_api
from twideploy.twilio_api.gateway import Gateway
from twideploy.workspace import Workspace, open_account

VAR = re.compile(r"\$\{vars\.([A-Za-z_][A-Za-z0-9_]*)\}")


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


def _flow_origin(env_name: str, live: flow_resources.LiveFlow, history: History) -> tuple[str, dict]:
    message = live.commit_message or ""
    commit = commits.parse_deploy(message)
    detail: dict[str, Any] = {"environment": env_name, "flow_sid": live.sid, "revision": live.revision,
                              "commit_message": message}
    if commit:
        deploy_id, sha = commit.deploy_id, commit.git_sha
        record = history.find(deploy_id)
        sha = sha or (record.header.git_sha if record else None)
        detail.update(deploy_id=deploy_id, git_sha=sha)
        text = f"{env_name} revision {live.revision} (deploy {deploy_id}" + (f", git {sha}" if sha else "") + ")"
    elif commits.is_ours(message):
        text = f"{env_name} revision {live.revision} ({message})"
    else:
        text = f"{env_name} revision {live.revision}, edited outside twideploy" + (f": {message!r}" if message else "")
        detail["outside_twideploy"] = True
    return text, detail


def _build_origin(env_name: str, name: str, service: serverless.LiveService, gw: Gateway,
                  history: History) -> tuple[str, dict]:
    build = service.build
    detail: dict[str, Any] = {"environment": env_name, "build_sid": build.sid}
    ours = history.our_deployments(name)
    env = service.environment
    deployments = serverless_api.list_deployments(gw, service.sid, env.sid)
    made = [d for d in deployments if d.build_sid == build.sid and d.sid in ours]
    if made:
        record = ours[made[-1].sid]
        sha = record.header.git_sha
        detail.update(deploy_id=record.deploy_id, git_sha=sha)
        return f"{env_name} build {build.sid} (deploy {record.deploy_id}" + (f", git {sha}" if sha else "") + ")", detail
    return f"{env_name} build {build.sid} (no deploy journal of {env_name} here says which commit)", detail


def _check_references(name: str, definition: dict[str, Any], from_env: Environment, to_env: Environment) -> None:
    """Nothing environment-specific of the from-account may reach the to-account."""
    for state in definition.get("states") or []:
        props = state.get("properties") or {}
        widget = f"flow {name}, widget {state.get('name')}"
        if state.get("type") == "run-function" and "function" not in props:
            raise TwideployError(f"{widget}: runs function {props.get('function_sid')}, which is not a function of a "
                                 f"service {from_env.name} deploys; cannot recompile it for {to_env.name}")
        if state.get("type") == "run-subflow" and "flow" not in props:
            raise TwideployError(f"{widget}: runs subflow {props.get('flow_sid')}, which is not a flow "
                                 f"{from_env.name} deploys; cannot recompile it for {to_env.name}")
        if state.get("type") == "run-subflow" and props.get("flow") not in to_env.flows:
            raise TwideployError(f"{widget}: runs subflow {props.get('flow')}, which {to_env.name} does not deploy "
                                 f"(add it to flows: of environments/{to_env.name}.yaml)")
        if state.get("type") == "run-function":
            service = str(props["function"]).split("/", 1)[0]
            if service not in to_env.services:
                raise TwideployError(f"{widget}: runs {props['function']}, but {to_env.name} does not deploy "
                                     f"service {service}")
    missing = sorted({m for m in VAR.findall(repr(definition)) if m not in to_env.vars})
    if missing:
        raise TwideployError(f"flow {name} uses ${{vars.{missing[0]}}} (a value of {from_env.name}'s var appears in it) "
                             f"but {to_env.name} defines no var {missing[0]}")


def project_from_live(project: Project, from_env: Environment, to_env: Environment, gw: Gateway,
                      cache: ContentCache) -> tuple[Project, Source]:
    """The project as `from_env` runs it: its live flows and deployed code, this project's environments."""
    source = Source(f"what {from_env.name} runs (account {gw.account_sid})")
    desired = Desired(project, from_env)
    live = read_live(gw, desired, cache)
    book = address_book(desired, live)
    history = History.of(StatePaths(project.root), from_env.name, gw.account_sid)

    flows: dict[str, FlowSource] = {}
    for name in to_env.flows:
        manifest = project.flows[name]
        if name not in from_env.flows:
            raise TwideployError(f"{to_env.name} deploys flow {name}, which {from_env.name} does not; "
                                 f"nothing to promote it from")
        found = live.flows.get(manifest.friendly_name)
        if found is None or found.definition is None:
            raise TwideployError(f"flow {name} ({manifest.friendly_name!r}) is not in {from_env.name}'s account; "
                                 f"apply {from_env.name} first")
        symbolic = decompile_flow(found.definition, vars=from_env.vars, book=book)
        differing = restore_secret_strings(symbolic, found.definition, manifest.definition, from_env.vars)
        if differing:
            raise TwideployError(f"flow {name}, {differing[0]}: holds a secret var in the manifests, and what "
                                 f"{from_env.name} runs there differs in more than the secret, so which part is "
                                 f"{from_env.name}'s secret cannot be told; apply {from_env.name} first")
        _check_references(name, symbolic, from_env, to_env)
        flows[name] = FlowSource(name, manifest.friendly_name, manifest.file, found.status, symbolic)
        text, detail = _flow_origin(from_env.name, found, history)
        source.origin[Address.flow(name)], source.details[Address.flow(name)] = text, detail

    services: dict[str, ServiceSource] = {}
    for name in to_env.services:
        manifest = project.services[name]
        found = live.services.get(name)
        if name not in from_env.services or found is None or found.build is None:
            raise TwideployError(f"{to_env.name} deploys service {name}, but {from_env.name} has no build of it "
                                 f"deployed; apply {from_env.name} first")
        deployed = [c for c in found.functions.values() if c.version_sid]

        def content(code: serverless.LiveCode, service_sid: str = found.sid) -> bytes:
            return serverless_api.function_content(gw, service_sid, code.sid, code.version_sid).encode("utf-8")

        functions = []
        for code, body in zip(deployed, gw.map(content, deployed)):
            local = manifest.function(code.path)
            functions.append(CodeFile(code.path, code.visibility or "protected", body,
                                      local.file if local else project.root / "functions" / name / code.path.lstrip("/"),
                                      "function"))
        assets = []
        for code in found.assets.values():
            if not code.version_sid:
                continue
            local = manifest.file(code.path)
            if local is None or local.kind != "asset":
                source.warnings.append(f"service {name}: asset {code.path} is deployed in {from_env.name} but not in "
                                       f"the manifests; asset content cannot be read from Twilio, so it is not promoted")
                continue
            if code.content_hash and code.content_hash != local.content_hash:
                source.warnings.append(f"service {name}: asset {code.path} differs between {from_env.name} and the "
                                       f"manifests; the manifests' version is promoted (Twilio cannot serve asset content)")
            assets.append(local)
        services[name] = ServiceSource(name, manifest.unique_name, manifest.friendly_name,
                                       found.build.runtime or manifest.runtime, dict(found.build.dependencies),
                                       manifest.ui_editable, functions, assets, manifest.variables)
        text, detail = _build_origin(from_env.name, name, found, gw, history)
        source.origin[Address.service(name)], source.details[Address.service(name)] = text, detail

    promoted = dataclasses.replace(project, flows={**project.flows, **flows}, services={**project.services, **services})
    return promoted, source


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
            progress: Callable[[str], None] = lambda message: None,
            gateways: dict[str, Gateway] | None = None) -> PromoteResult:
    """Plan and (after `confirm`) apply `from_env`'s live state, or the manifests at `ref`, to `to`.

    `gateways` (environment name -> Gateway) replaces opening the accounts (tests, tools).
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

    def account(env: Environment) -> Any:
        if gateways and env.name in gateways:
            from contextlib import nullcontext
            return nullcontext(gateways[env.name])
        return open_account(project, env)

    with account(to_env) as to_gw:
        if ref is None:
            source_env = project.environment(from_env)
            with account(source_env) as from_gw:
                if from_gw.account_sid == to_gw.account_sid:
                    raise TwideployError(f"{from_env} and {to} are the same account ({to_gw.account_sid}); "
                                         f"promote copies between two accounts")
                cache = Workspace(project, source_env, from_gw).content_cache()
                project, source = project_from_live(project, source_env, to_env, from_gw, cache)
                cache.save()
        else:
            for change_key in [Address.flow(n) for n in to_env.flows] + [Address.service(n) for n in to_env.services]:
                source.origin[change_key] = f"git {ref} ({sha[:12]})"
        ws = Workspace(project, to_env, to_gw)
        options = dataclasses.replace(options, git_sha=git_sha)
        planned, outcome = deploy.apply(ws, options, confirm=lambda plan: confirm(plan, source), progress=progress)
    return PromoteResult(planned, outcome, source, git_sha)
