"""Serverless services: service -> environment -> functions/assets -> versions -> build -> deploy -> variables.

Unchanged code is detected by content hash and never uploaded again. Function version
content is fetched from Twilio (and remembered by version SID, since versions are
immutable); asset versions have no content endpoint, so their hashes are known only
from the local cache of what twideploy uploaded (see `ContentCache`).

Undo: deleting a Function deletes its versions, so a pruned function's path, visibility
and code go into the journal; undoing the prune recreates it and uploads that code, and
undoing the deployment rebuilds the previous build with the restored versions in place of
the deleted ones. An asset's content cannot be read back from Twilio: a pruned asset is
reported as not restored. A secret variable's previous value is never journalled: apply's
own rollback has it in memory; a later rollback takes it from the process environment
(`TWIDEPLOY_RESTORE_<SERVICE>_<KEY>`) or fails naming that variable.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import mimetypes
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from twideploy.addresses import Address
from twideploy.errors import ApplyError, NotUndoable, TwideployError
from twideploy.gitinfo import earlier_content
from twideploy.manifest import CodeFile, ServiceEnvironment, ServiceSource
from twideploy.manifest.references import AddressBook, FunctionAddress, FunctionRef
from twideploy.plan.desired import Desired, Live
from twideploy.plan.model import Action, Change
from twideploy.plan.scheduler import Task, run_tasks
from twideploy.providers.audit import DRIFT, INFO, AuditContext, DriftItem, deploy_ref, iso, when_of, written_by
from twideploy.providers.base import (
    SENSITIVE,
    ApplyContext,
    DecompileContext,
    ExportContext,
    PlanContext,
    Progress,
    UndoFunction,
    Writer,
    delete_created,
    keyed_digest,
    verify,
)
from twideploy.secrets import Secret, reveal
from twideploy.state.cache import ContentCache
from twideploy.state.history import History
from twideploy.state.journal import DeployRecord
from twideploy.twilio_api import serverless as api
from twideploy.twilio_api.gateway import Gateway
from twideploy.yaml_writer import plain, read_document

BUILD_POLL_FIRST_SECONDS = 0.05  # doubled after each poll, up to the maximum
BUILD_POLL_MAX_SECONDS = 5.0
BUILD_TIMEOUT_SECONDS = 600
#: A function's code diff in a plan holds at most this many lines, then "... N more lines":
#: enough to review a typical edit; the whole file is in git (docs/plan-format.md).
MAX_DIFF_LINES = 60


@dataclass
class LiveCode:
    sid: str
    path: str
    visibility: str | None = None
    version_sid: str | None = None
    content_hash: str | None = None
    content: str | None = None  # the deployed code, read only where it differs from the local file (for the diff)


@dataclass
class LiveEnvironment:
    sid: str
    unique_name: str
    domain_name: str
    build_sid: str | None


@dataclass
class LiveBuild:
    sid: str
    runtime: str | None
    dependencies: dict[str, str]


@dataclass
class LiveService:
    sid: str
    unique_name: str
    friendly_name: str
    ui_editable: bool
    environment: LiveEnvironment | None = None
    build: LiveBuild | None = None
    functions: dict[str, LiveCode] = field(default_factory=dict)
    assets: dict[str, LiveCode] = field(default_factory=dict)
    variables: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (sid, value)


# --------------------------------------------------------------------------- read

def read(gw: Gateway, wanted: dict[str, str], env_names: dict[str, str], cache: ContentCache,
         local: dict[str, dict[str, str]] | None = None) -> dict[str, LiveService]:
    """Live state of the services named in `wanted` (folder -> unique_name).

    One list of services, then per wanted service, concurrently, in as few dependent rounds as
    the API allows: its functions, its assets, and its environments, whose answer at once
    starts the deployed build's and the variables' reads; then the content of each deployed
    function whose hash is unknown. `local` (folder -> path -> sha256 of the local functions)
    says which of those contents to keep for the plan's diff (`attach_diffs`): those that
    differ from the local file.
    """
    by_unique = {s.unique_name: s for s in api.list_services(gw)}
    present = [(name, by_unique[u]) for name, u in wanted.items() if u in by_unique]
    services = gw.map(lambda item: _read_service(gw, item[1], env_names[item[0]], cache,
                                                 (local or {}).get(item[0], {})), present)
    return {name: service for (name, _), service in zip(present, services, strict=True)}


def _read_service(gw: Gateway, record: api.Service, env_name: str, cache: ContentCache,
                  local: dict[str, str] | None = None) -> LiveService:
    """One service as `read` describes; `local` is path -> sha256 of its local functions."""
    service = LiveService(record.sid, record.unique_name, record.friendly_name, record.ui_editable)
    deployed: list[api.Build] = []  # the environment's build, once read

    def read_functions() -> None:
        service.functions = {f.friendly_name: LiveCode(f.sid, f.friendly_name)
                             for f in api.list_code(gw, record.sid, "function")}

    def read_assets() -> None:
        service.assets = {a.friendly_name: LiveCode(a.sid, a.friendly_name)
                          for a in api.list_code(gw, record.sid, "asset")}

    def read_environment() -> None:
        env = next((e for e in api.list_environments(gw, record.sid) if e.unique_name == env_name), None)
        if env is None:
            return
        service.environment = LiveEnvironment(env.sid, env.unique_name, env.domain_name, env.build_sid)

        def read_build() -> None:
            if env.build_sid:
                build = api.fetch_build(gw, record.sid, env.build_sid)
                service.build = LiveBuild(build.sid, build.runtime,
                                          {d["name"]: d["version"] for d in build.dependencies})
                deployed.append(build)

        def read_variables() -> None:
            service.variables = {v.key: (v.sid, v.value) for v in api.list_variables(gw, record.sid, env.sid)}

        _run_concurrently(gw, [read_build, read_variables])

    _run_concurrently(gw, [read_environment, read_functions, read_assets])
    for build in deployed:
        _attach_versions(service.functions, build.function_versions)
        _attach_versions(service.assets, build.asset_versions)
    _read_contents(gw, service, cache, local or {})
    return service


def _run_concurrently(gw: Gateway, reads: list[Callable[[], None]]) -> None:
    """Run `reads` at once through the gateway; the first failure in list order is raised."""
    gw.map(lambda read: read(), reads)


def _attach_versions(codes: dict[str, LiveCode], versions: list[api.Version]) -> None:
    """The deployed build says which version (and so which path) each function runs."""
    by_sid = {code.sid: code for code in codes.values()}
    for version in versions:
        code = by_sid.get(version.code_sid)
        if code is None:
            continue
        del codes[code.path]
        code.path, code.visibility, code.version_sid = version.path, version.visibility, version.sid
        codes[code.path] = code


def _read_contents(gw: Gateway, service: LiveService, cache: ContentCache, local: dict[str, str]) -> None:
    """Hash the deployed code: from the cache where known, else by fetching a function's
    content, kept when it differs from its local file (`local`: path -> sha256) so the plan's
    diff needs no second fetch. Assets have no content endpoint."""
    for code in [*service.functions.values(), *service.assets.values()]:
        if code.version_sid:
            code.content_hash = cache.hashes.get(code.version_sid)
    unknown = [code for code in service.functions.values() if code.version_sid and code.content_hash is None]

    def fetch(code: LiveCode) -> None:
        assert code.version_sid is not None
        content = api.function_content(gw, service.sid, code.sid, code.version_sid)
        code.content_hash = hashlib.sha256(content.encode()).hexdigest()  # as CodeFile.content_hash
        cache.hashes[code.version_sid] = code.content_hash
        if code.path in local and local[code.path] != code.content_hash:
            code.content = content

    gw.map(fetch, unknown)


# --------------------------------------------------------------------------- plan

def plan(name: str, source: ServiceSource, settings: ServiceEnvironment, live: LiveService | None,
         prune: bool) -> list[Change]:
    """Changes for one service: the service, its environment, code, build, variables."""
    base = Address.service(name)
    changes: list[Change] = []
    wanted = {"unique_name": source.unique_name, "friendly_name": source.friendly_name,
              "ui_editable": source.ui_editable}
    if live is None:
        changes.append(Change("service", base, Action.CREATE, None, wanted))
    else:
        current = {"unique_name": live.unique_name, "friendly_name": live.friendly_name,
                   "ui_editable": live.ui_editable}
        changes.append(Change("service", base, Action.UPDATE if current != wanted else Action.NOOP, current, wanted))
    env = live.environment if live else None
    env_after = {"unique_name": settings.environment, "domain_suffix": settings.domain_suffix}
    changes.append(Change("environment", Address.service(name, "environment"), Action.NOOP if env else Action.CREATE,
                          {"unique_name": env.unique_name, "domain_name": env.domain_name} if env else None,
                          env_after))

    code_changed = False
    for kind, files, live_codes in (("function", source.functions, live.functions if live else {}),
                                    ("asset", source.assets, live.assets if live else {})):
        for file in files:
            found = live_codes.get(file.path)
            after = {"path": file.path, "visibility": file.visibility, "sha256": file.content_hash}
            if found is None or found.version_sid is None:
                action = Action.CREATE if found is None else Action.UPDATE
                before = None
            else:
                before = {"path": found.path, "visibility": found.visibility, "sha256": found.content_hash}
                action = Action.NOOP if before == after else Action.UPDATE
            code_changed |= action is not Action.NOOP
            reason = "content unknown (not uploaded by twideploy from this machine)" \
                if before and before["sha256"] is None else ""
            changes.append(Change(kind, Address.service(name, kind, file.path), action, before, after, reason=reason))
        declared = {f.path for f in files}
        for path, code in sorted(live_codes.items()):
            if path not in declared:
                code_changed |= prune
                changes.append(Change(kind, Address.service(name, kind, path),
                                      Action.DELETE if prune else Action.UNMANAGED,
                                      {"path": path, "visibility": code.visibility, "sha256": code.content_hash}))

    build_after = {"runtime": source.runtime, "dependencies": dict(source.dependencies)}
    build = live.build if live else None
    build_before = {"runtime": build.runtime, "dependencies": build.dependencies} if build else None
    needs_build = code_changed or build_before != build_after
    changes.append(Change("build", Address.service(name, "build"), Action.UPDATE if needs_build and build else
                          Action.CREATE if needs_build else Action.NOOP,
                          {"runtime": build.runtime, "dependencies": build.dependencies, "build_sid": build.sid}
                          if build else None, build_after,
                          reason="code changed" if code_changed else ""))

    # A live value is never shown unless it is the manifests' own: whether it is a secret cannot be
    # told (it may be a secret's value the manifests have since made a plain value, or one set by hand).
    live_vars = live.variables if live else {}
    for key, value in sorted(settings.variables.items()):
        masked = SENSITIVE if isinstance(value, Secret) else value
        if key not in live_vars:
            changes.append(Change("variable", Address.service(name, "variable", key), Action.CREATE, None,
                                  {"value": masked}))
            continue
        same = live_vars[key][1] == reveal(value)
        changes.append(Change("variable", Address.service(name, "variable", key),
                              Action.NOOP if same else Action.UPDATE,
                              {"value": masked if same else SENSITIVE}, {"value": masked}))
    for key in sorted(live_vars.keys() - settings.variables.keys()):
        changes.append(Change("variable", Address.service(name, "variable", key),
                              Action.DELETE if prune else Action.UNMANAGED, {"value": SENSITIVE}))
    return changes


def attach_diffs(gw: Gateway, name: str, source: ServiceSource, live: LiveService | None,
                 changes: list[Change]) -> None:
    """What a reviewer reads of each updated function or asset of service `name`, as its
    Change's `diff`: a function's live code (the cache keeps hashes, never code: read now,
    concurrently, unless the service's read fetched it, see `_read_contents`) against the local
    file; an asset's against its previous local copy (see `asset_diff`)."""
    if live is None:
        return
    files = {Address.service(name, f.kind, f.path): f for f in [*source.functions, *source.assets]}
    updated = [(c, files[c.address]) for c in changes if c.action is Action.UPDATE and c.address in files
               and c.before and c.after and c.before["sha256"] != c.after["sha256"]]

    def attach(item: tuple[Change, CodeFile]) -> None:
        change, file = item
        if file.kind == "asset":
            change.diff = asset_diff(change.before["sha256"] if change.before else None, file)
            return
        code = live.functions[file.path]
        if code.version_sid:
            content = code.content or api.function_content(gw, live.sid, code.sid, code.version_sid)
            change.diff = code_diff(content, file.content.decode("utf-8", errors="replace"), file.path)

    gw.map(attach, updated)


def code_diff(live: str, local: str, path: str) -> list[str]:
    """The unified diff of a function's live code against its local file, cut to MAX_DIFF_LINES."""
    lines = list(difflib.unified_diff(live.splitlines(), local.splitlines(), f"live {path}", f"local {path}",
                                      lineterm=""))
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"... {len(lines) - MAX_DIFF_LINES} more lines"]
    return lines


def asset_diff(live_hash: str | None, file: CodeFile) -> list[str]:
    """An updated asset's diff against a previous local copy of what is deployed (a version of
    its file in git with the live hash) when there is one and both are text, else its local size
    (the hashes are in the change's fields)."""
    earlier = earlier_content(file.file, live_hash) if live_hash else None
    if earlier is not None:
        try:
            return code_diff(earlier.decode("utf-8"), file.content.decode("utf-8"), file.path)
        except UnicodeDecodeError:
            pass
    return [f"local: {len(file.content):,} bytes; no earlier copy with the live hash in git to diff against"]


def fingerprint(live: LiveService, key: bytes) -> dict[str, Any]:
    """Variable values as HMACs with the local plan key: a plan file gives no value away."""
    return {
        "sid": live.sid,
        "environment": live.environment.sid if live.environment else None,
        "build": live.environment.build_sid if live.environment else None,
        "functions": sorted(f"{c.path}={c.sid}" for c in [*live.functions.values(), *live.assets.values()]),
        "variables": {k: keyed_digest(key, live.sid, k, v) for k, (_, v) in sorted(live.variables.items())},
    }


# --------------------------------------------------------------------------- apply

class ServiceDeployer:
    """The tasks that apply the changes of one service, each journalling its write: the service,
    then its environment and its code (create, upload) side by side, the build and deployment
    once every version is uploaded, and the variables once the environment exists."""

    def __init__(self, ctx: ApplyContext, name: str, source: ServiceSource, settings: ServiceEnvironment,
                 changes: list[Change], secret_history: dict[Address, bool]):
        self.ctx, self.gw, self.name, self.source, self.settings = ctx, ctx.gw, name, source, settings
        self.write, self.cache, self.progress = ctx.write, ctx.cache, ctx.progress
        self.changes = changes
        self.secret_history = secret_history  # see `secret_history`
        self.new_environment = False
        # (kind, path): left out of the build, deleted by the prune phase
        self.pruned = {(_code_kind(c.kind), _member(c.address)) for c in changes
                       if c.kind in ("function", "asset") and c.action is Action.DELETE}
        # the paths of the functions given a new version: entered in the book once deployed
        self.uploaded = {_member(c.address) for c in changes
                         if c.kind == "function" and c.action in (Action.CREATE, Action.UPDATE)}

    def tasks(self) -> list[Task]:
        by_kind: dict[str, list[Change]] = {}
        for change in self.changes:
            by_kind.setdefault(change.kind, []).append(change)
        service, environment = by_kind["service"][0], by_kind["environment"][0]
        tasks = []
        if service.action in (Action.CREATE, Action.UPDATE):
            tasks.append(Task(service.address, partial(self._service, service)))
        if environment.action is Action.CREATE:
            tasks.append(Task(environment.address, self._environment, frozenset({service.address})))
        code = [c for c in by_kind.get("function", []) + by_kind.get("asset", [])
                if c.action in (Action.CREATE, Action.UPDATE)]
        tasks += [Task(c.address, partial(self._code, c), frozenset({service.address})) for c in code]
        build = by_kind["build"][0]
        if build.action is not Action.NOOP or code or self.pruned:
            tasks.append(Task(build.address, self._build_and_deploy,
                              frozenset({service.address, environment.address, *(c.address for c in code)})))
        tasks += [Task(c.address, partial(self._variable, c), frozenset({service.address, environment.address}))
                  for c in by_kind.get("variable", []) if c.action in (Action.CREATE, Action.UPDATE, Action.DELETE)]
        return tasks

    @property
    def service(self) -> LiveService:
        """The live service: read by the plan, or made by `_service` before anything else."""
        found = self.ctx.live.services.get(self.name)
        if found is None:
            raise RuntimeError(f"service {self.name} used before it was made")
        return found

    @property
    def environment(self) -> LiveEnvironment:
        """The service's Serverless environment: read by the plan, or made by `_environment`."""
        if self.service.environment is None:
            raise RuntimeError(f"the environment of service {self.name} used before it was made")
        return self.service.environment

    def _service(self, change: Change) -> None:
        s = self.source
        if change.action is Action.CREATE:
            result = self.write("service.create", change.address, {"unique_name": s.unique_name}, lambda: _sid_of(
                api.create_service(self.gw, unique_name=s.unique_name, friendly_name=s.friendly_name,
                                   ui_editable=s.ui_editable)))
            self.ctx.live.services[self.name] = LiveService(result["sid"], s.unique_name, s.friendly_name,
                                                            s.ui_editable)
        else:
            before = {"sid": self.service.sid, "friendly_name": self.service.friendly_name,
                      "ui_editable": self.service.ui_editable}
            self.write("service.update", change.address, before, lambda: _sid_of(api.update_service(
                self.gw, self.service.sid, friendly_name=s.friendly_name, ui_editable=s.ui_editable)))

    def _environment(self) -> None:
        self.new_environment = True
        service_sid, name = self.service.sid, self.settings.environment
        result = self.write("environment.create", Address.service(self.name, "environment"),
                            {"service_sid": service_sid, "unique_name": name},
                            lambda: _record(api.create_environment(self.gw, service_sid, unique_name=name,
                                                                   domain_suffix=self.settings.domain_suffix),
                                            "sid", "domain_name"))
        self.service.environment = LiveEnvironment(result["sid"], name, result["domain_name"], None)

    def _code(self, change: Change) -> None:
        """Create a function or asset (when new) and upload its version. A version is immutable
        and unreferenced until a build: the upload has nothing to undo."""
        path, kind = _member(change.address), _code_kind(change.kind)
        codes = self.service.functions if kind == "function" else self.service.assets
        if change.action is Action.CREATE:
            result = self.write(f"{kind}.create", change.address, {"service_sid": self.service.sid, "path": path},
                                partial(_sid_after, api.create_code, self.gw, self.service.sid, kind, path))
            codes[path] = LiveCode(result["sid"], path)
        file = next(f for f in [*self.source.functions, *self.source.assets] if (f.kind, f.path) == (change.kind, path))
        content_type = "application/javascript" if kind == "function" else \
            (mimetypes.guess_type(file.path)[0] or "application/octet-stream")
        self.progress(f"uploading {self.name}{file.path}")
        code = codes[path]
        version = api.upload_version(self.gw, self.service.sid, kind, code.sid, path=file.path,
                                     visibility=file.visibility, content=file.content, content_type=content_type)
        code.version_sid, code.visibility, code.content_hash = version, file.visibility, file.content_hash
        self.cache.hashes[version] = file.content_hash

    def _build_and_deploy(self) -> None:
        """Build the uploaded versions and deploy the build; then the functions uploaded are live
        in this environment, so what refers to them (flows, numbers) may be written: they are
        entered in the address book (the others are there already, as the plan read them)."""
        s = self.source
        deps = json.dumps([{"name": k, "version": v} for k, v in sorted(s.dependencies.items())])
        function_versions = [c.version_sid for c in self.service.functions.values()
                             if c.version_sid and ("function", c.path) not in self.pruned]
        asset_versions = [c.version_sid for c in self.service.assets.values()
                          if c.version_sid and ("asset", c.path) not in self.pruned]
        self.progress(f"building {self.name} ({len(function_versions)} functions, {len(asset_versions)} assets)")
        build = api.create_build(self.gw, self.service.sid, function_versions=function_versions,
                                 asset_versions=asset_versions, dependencies=deps, runtime=s.runtime)
        if _wait_for_build(self.gw, self.service.sid, build, f"service {self.name}",
                           lambda status: self.progress(f"building {self.name}: {status}")) == "failed":
            raise ApplyError(f"build {build.sid} of service {self.name} failed; the previous build stays deployed")
        env = self.environment
        self.write("deployment.create", Address.service(self.name, "build"),
                   {"service_sid": self.service.sid, "environment_sid": env.sid, "previous_build_sid": env.build_sid,
                    "new_environment": self.new_environment},
                   lambda: _sid_of(api.create_deployment(self.gw, self.service.sid, env.sid, build.sid)))
        env.build_sid = build.sid
        _enter(self.ctx.book, self.name, self.service, self.uploaded)

    def _variable(self, change: Change) -> None:
        env, service_sid = self.environment, self.service.sid
        key = _member(change.address)
        where = {"service_sid": service_sid, "environment_sid": env.sid, "service": self.service.unique_name,
                 "environment": env.unique_name, "key": key}
        if change.action is Action.CREATE:
            secret, value = isinstance(self.settings.variables[key], Secret), reveal(self.settings.variables[key])
            self.write("variable.create", change.address, {**where, "secret": secret},
                       partial(_sid_after, api.create_variable, self.gw, service_sid, env.sid, key, value))
        elif change.action is Action.UPDATE:
            sid, old = self.service.variables[key]
            value = reveal(self.settings.variables[key])
            self._journal_variable("variable.update", change, {**where, "sid": sid}, old, key,
                                   partial(_sid_after, api.update_variable, self.gw, service_sid, env.sid, sid,
                                           value))
        else:
            sid, old = self.service.variables[key]
            self._journal_variable("variable.delete", change, {**where, "sid": sid}, old, key,
                                   partial(api.delete_variable, self.gw, service_sid, env.sid, sid))

    def _journal_variable(self, op: str, change: Change, where: dict, old: str, key: str,
                          run: Callable[[], object]) -> None:
        """Previous values go to disk only when not secret; secrets are kept for this run only."""
        secret = self._may_be_secret(key, change.address)
        undo = {**where, "previous_value": None if secret else old, "secret": secret}
        self.write(op, change.address, undo, run, secret_undo={"previous_value": old} if secret else None)

    def _may_be_secret(self, key: str, address: Address) -> bool:
        """Whether a live value must be kept off disk. A key the manifests declare is secret
        when they say so or twideploy ever wrote it as one; a key they no longer declare (a
        prune) is plain only when every write of it twideploy journalled here was plain."""
        ever_secret = self.secret_history.get(address)
        if key in self.settings.variables:
            return isinstance(self.settings.variables[key], Secret) or ever_secret is True
        return ever_secret is not False


def secret_history(records: list[DeployRecord]) -> dict[Address, bool]:
    """Variable address -> whether any journalled write of it held a secret (or may have:
    a journal that does not say counts as secret), from an environment's deploy journals."""
    history: dict[Address, bool] = {}
    for record in records:
        for step in record.steps:
            if step.op.startswith("variable."):
                address = Address.parse(step.address, "variable")
                history[address] = history.get(address, False) or bool(step.undo.get("secret", True))
    return history


def _wait_for_build(gw: Gateway, service_sid: str, build: api.Build, what: str, progress: Progress) -> str:
    """Poll a build of `what` (a service) until it is completed or failed (its final status)."""
    deadline = time.monotonic() + BUILD_TIMEOUT_SECONDS
    status, pause = build.status, BUILD_POLL_FIRST_SECONDS
    while status not in ("completed", "failed"):
        if time.monotonic() > deadline:
            raise ApplyError(f"build {build.sid} of {what} did not finish in {BUILD_TIMEOUT_SECONDS}s")
        time.sleep(pause)
        pause = min(pause * 2, BUILD_POLL_MAX_SECONDS)
        status = api.build_status(gw, service_sid, build.sid)
        progress(status)
    return status


def _sid_of(record: Any) -> dict[str, Any]:
    return {"sid": record.sid}


def _sid_after(call: Callable[..., Any], *args: Any) -> dict[str, Any]:
    """Run a facade call; the SID of what it answered, as a journalled write's result."""
    return {"sid": call(*args).sid}


def _member(address: Address) -> str:
    """The path or key a function, asset or variable address names."""
    if address.name is None:
        raise ValueError(f"{address} names no function, asset or variable")
    return address.name


def _code_kind(kind: str) -> api.CodeKind:
    return "function" if kind == "function" else "asset"


def _record(record: Any, *fields: str) -> dict[str, Any]:
    return {name: getattr(record, name) for name in fields}


def delete_unmanaged_code(gw: Gateway, service: LiveService, changes: list[Change], write: Writer) -> list[Task]:
    """--prune: one task per function/asset resource no longer declared (run after the new
    build is live).

    Twilio deletes a Function's versions with it, so the journal keeps what undo needs to
    make it again: its path, visibility and the code of the version the old build ran."""

    def delete(change: Change) -> None:
        kind = _code_kind(change.kind)
        codes = service.functions if kind == "function" else service.assets
        code = codes[(change.before or {})["path"]]
        undo = {"service_sid": service.sid, "path": code.path, "visibility": code.visibility}
        if change.kind == "function" and code.version_sid:
            undo["content"] = api.function_content(gw, service.sid, code.sid, code.version_sid)
        write(f"{kind}.delete", change.address, undo, partial(api.delete_code, gw, service.sid, kind, code.sid))
        del codes[code.path]

    return [Task(change.address, partial(delete, change)) for change in changes
            if change.kind in ("function", "asset") and change.action is Action.DELETE]


# --------------------------------------------------------------------------- undo

def _undo_service_create(gw: Gateway, undo: dict, result: dict) -> str:
    delete_created(result, lambda: next((s.sid for s in api.list_services(gw) if s.unique_name == undo["unique_name"]),
                                        None), lambda sid: api.delete_service(gw, sid))
    return f"deleted service {undo['unique_name']}"


def _undo_service_update(gw: Gateway, undo: dict, result: dict) -> str:
    api.update_service(gw, undo["sid"], friendly_name=undo["friendly_name"], ui_editable=undo["ui_editable"])
    return f"restored service {undo['sid']} settings"


def _undo_environment_create(gw: Gateway, undo: dict, result: dict) -> str:
    service, name = undo["service_sid"], undo.get("unique_name")
    delete_created(result, lambda: next((e.sid for e in api.list_environments(gw, service)
                                         if name and e.unique_name == name), None),
                   lambda sid: api.delete_environment(gw, service, sid))
    return f"deleted the new Serverless environment {name}" if name else "deleted the new Serverless environment"


def _undo_function_delete(gw: Gateway, undo: dict, result: dict) -> str:
    """Make a pruned function again: the resource (the one at its path if a rollback made it
    already), and a version with the journalled code unless one with that code is there."""
    service, path = undo["service_sid"], undo["path"]
    sid = next((f.sid for f in api.list_code(gw, service, "function") if f.friendly_name == path), None) or \
        api.create_code(gw, service, "function", path).sid
    if undo.get("content") is None:
        return f"recreated function {path}, without code: no build ran it, so the journal holds none"
    for version in api.list_function_versions(gw, service, sid):
        if version.path == path and version.visibility == undo["visibility"] and \
                api.function_content(gw, service, sid, version.sid) == undo["content"]:
            return f"function {path} is there with its code"
    api.upload_version(gw, service, "function", sid, path=path, visibility=undo["visibility"],
                       content=undo["content"].encode(), content_type="application/javascript")
    return f"recreated function {path} ({undo['visibility']}) with its code"


def _undo_asset_delete(gw: Gateway, undo: dict, result: dict) -> str:
    raise NotUndoable(f"asset {undo['path']} cannot be restored: Twilio has no way to read an asset's content "
                      f"back; put the file back in the project and apply")


def _undo_code_create(kind: api.CodeKind) -> UndoFunction:
    def undo_create(gw: Gateway, undo: dict, result: dict) -> str:
        service, path = undo["service_sid"], undo.get("path")
        delete_created(result, lambda: next((c.sid for c in api.list_code(gw, service, kind)
                                             if path and c.friendly_name == path), None),
                       lambda sid: api.delete_code(gw, service, kind, sid))
        return f"deleted the new {kind} resource"
    return undo_create


def _undo_deployment(gw: Gateway, undo: dict, result: dict) -> str:
    previous = undo["previous_build_sid"]
    service, env = undo["service_sid"], undo["environment_sid"]
    if api.fetch_environment(gw, service, env).build_sid == previous:  # the deployment never took, or was undone
        return f"build {previous} is deployed" if previous else "no build is deployed"
    if not previous:
        if undo.get("new_environment"):
            return "nothing to undeploy: the environment this deploy created is deleted with it"
        raise NotUndoable("the environment had no build before this deploy and Twilio cannot undeploy one: "
                          "the new build stays live")
    build, lost_assets = _previous_code(gw, service, previous)
    api.create_deployment(gw, service, env, build)
    if build == previous:
        return f"redeployed previous build {previous}"
    without = f", without asset(s) {', '.join(lost_assets)} (deleted, not restorable)" if lost_assets else ""
    return f"redeployed previous build {previous}'s code as build {build}, the pruned functions restored{without}"


def _previous_code(gw: Gateway, service_sid: str, build_sid: str) -> tuple[str, list[str]]:
    """The build that brings back the code of `build_sid`, and the paths of the assets it lacks.

    That is `build_sid` itself, unless code it ran was deleted since (a prune), and with it its
    versions; then a new build of the same code: each pruned function's restored version (see
    `_undo_function_delete`) in place of the deleted one, and a pruned asset left out, since
    its content cannot be had back."""
    build = api.fetch_build(gw, service_sid, build_sid)
    kinds: list[api.CodeKind] = ["function", "asset"]
    functions, assets = gw.map(lambda kind: api.list_code(gw, service_sid, kind), kinds)
    live_functions, live_assets = {f.sid for f in functions}, {a.sid for a in assets}
    gone = [v for v in build.function_versions if v.code_sid not in live_functions]
    lost_assets = [v.path for v in build.asset_versions if v.code_sid not in live_assets]
    if not gone and not lost_assets:
        return build_sid, []
    restored = {f.friendly_name: f.sid for f in functions}  # a restored function is named by its path
    versions = [v.sid for v in build.function_versions if v.code_sid in live_functions]
    for version in gone:
        sid = restored.get(version.path)
        same = [v.sid for v in (api.list_function_versions(gw, service_sid, sid) if sid else [])
                if v.path == version.path and v.visibility == version.visibility]
        if not same:
            raise TwideployError(f"build {build_sid} ran function {version.path}, deleted since and not restored")
        versions.append(same[-1])
    rebuilt = api.create_build(gw, service_sid, function_versions=versions,
                               asset_versions=[v.sid for v in build.asset_versions if v.code_sid in live_assets],
                               dependencies=json.dumps(build.dependencies), runtime=build.runtime)
    if _wait_for_build(gw, service_sid, rebuilt, f"service {service_sid}", lambda status: None) == "failed":
        raise TwideployError(f"the rebuild {rebuilt.sid} of build {build_sid} failed")
    return rebuilt.sid, lost_assets


def _variable_sid(gw: Gateway, undo: dict) -> str | None:
    """The SID of the variable `undo` names, by its key (None when there is none)."""
    return next((v.sid for v in api.list_variables(gw, undo["service_sid"], undo["environment_sid"])
                 if v.key == undo["key"]), None)


def _variable_named(undo: dict) -> str:
    """`variable KEY of environment NAME` (journals older than the name say only the key): a
    preview's clear deletes its own environment's variables, not the deployed ones."""
    where = f" of environment {undo['environment']}" if "environment" in undo else ""
    return f"variable {undo['key']}{where}"


def _undo_variable_create(gw: Gateway, undo: dict, result: dict) -> str:
    delete_created(result, lambda: _variable_sid(gw, undo),
                   lambda sid: api.delete_variable(gw, undo["service_sid"], undo["environment_sid"], sid))
    return f"deleted {_variable_named(undo)}"


def _undo_variable_update(gw: Gateway, undo: dict, result: dict) -> str:
    api.update_variable(gw, undo["service_sid"], undo["environment_sid"], undo["sid"], _previous_value(undo))
    return f"restored {_variable_named(undo)}"


def _undo_variable_delete(gw: Gateway, undo: dict, result: dict) -> str:
    value = _previous_value(undo)
    sid = _variable_sid(gw, undo)  # made by a rollback before
    if sid:
        api.update_variable(gw, undo["service_sid"], undo["environment_sid"], sid, value)
    else:
        api.create_variable(gw, undo["service_sid"], undo["environment_sid"], undo["key"], value)
    return f"recreated {_variable_named(undo)}"


def _previous_value(undo: dict) -> str:
    """The value a variable undo puts back: journalled if plain; if secret, held in memory for
    apply's own rollback, and for a later one read from the process environment."""
    if undo.get("previous_value") is not None:
        return undo["previous_value"]
    name = restore_variable_name(undo.get("service", ""), undo["key"])
    if name not in os.environ:
        raise TwideployError(f"variable {undo['key']}: its previous value is secret, so no journal keeps it; "
                             f"set {name} to that value in the environment and run the rollback again")
    return os.environ[name]


def restore_variable_name(service: str, key: str) -> str:
    """The process environment variable a rollback reads a secret variable's previous value from."""
    return "TWIDEPLOY_RESTORE_" + re.sub(r"[^A-Za-z0-9]+", "_", f"{service}_{key}").strip("_").upper()


UNDO: dict[str, UndoFunction] = {
    "service.create": _undo_service_create,
    "service.update": _undo_service_update,
    "environment.create": _undo_environment_create,
    "function.create": _undo_code_create("function"),
    "asset.create": _undo_code_create("asset"),
    "function.delete": _undo_function_delete,
    "asset.delete": _undo_asset_delete,
    "deployment.create": _undo_deployment,
    "variable.create": _undo_variable_create,
    "variable.update": _undo_variable_update,
    "variable.delete": _undo_variable_delete,
}


# --------------------------------------------------------------------------- drift

class _ServiceAudit:
    """Drift of the services: each item is attributed by the service's deployed build (asked once
    per service), variables by date."""

    def __init__(self, ctx: AuditContext):
        self.ctx = ctx
        self._builds: dict[str, dict[str, Any]] = {}

    def service(self, name: str, changes: list[Change]) -> list[DriftItem]:
        items = []
        build = None
        unverified = [c for c in changes if _unverified_asset(c)]
        if unverified and self.build_attribution(name)["outside"] is not True:
            # Asset content has no API: without this machine's cache it cannot be compared. Only
            # when twideploy may have deployed the live build is that a note, not drift.
            only_assets = not any(c.kind in ("function", "asset") and c not in unverified
                                  and c.action not in (Action.NOOP, Action.UNMANAGED) for c in changes)
            for change in unverified:
                items.append(DriftItem(change.address, "asset", INFO, "no-op", UNVERIFIED_ASSET))
            changes = [c for c in changes if c not in unverified
                       and not (only_assets and c.kind == "build" and _only_code_changed(c))]
        for change in changes:
            if change.action is Action.NOOP:
                continue
            if change.action is Action.UNMANAGED:
                items.append(DriftItem(change.address, change.kind, INFO, "unmanaged",
                                       "live but not in the manifests; kept (deleted only with --prune)"))
                continue
            if change.kind in ("service", "environment") and change.action is Action.CREATE:
                items.append(DriftItem(change.address, change.kind, DRIFT, "create",
                                       "in the manifests but not in the account (never applied, or deleted)"))
                continue
            if change.kind == "variable":
                items.append(self.variable(name, change))
                continue
            build = build or self.build_attribution(name)
            lines = []
            if change.kind in ("function", "asset"):
                before, after = change.before or {}, change.after or {}
                if change.action is Action.DELETE:
                    lines.append(f"{before.get('path')}: live but not in the manifests (apply --prune deletes it)")
                elif change.action is Action.CREATE:
                    lines.append(f"{after.get('path')}: not deployed")
                else:
                    if before.get("sha256") != after.get("sha256"):
                        lines.append(f"{after.get('path')}: content differs (sha256 live "
                                     f"{_short_hash(before.get('sha256'))}, "
                                     f"manifests {_short_hash(after.get('sha256'))})")
                    if before.get("visibility") != after.get("visibility"):
                        lines.append(f"{after.get('path')}: visibility {before.get('visibility')} -> "
                                     f"{after.get('visibility')}")
            elif change.kind == "build":
                before, after = change.before or {}, change.after or {}
                for key in ("runtime", "dependencies"):
                    if before.get(key) != after.get(key):
                        lines.append(f"{key}: live {before.get(key)!r}, manifests {after.get(key)!r}")
                if change.reason:
                    lines.append(change.reason)
            else:
                lines += [f"{k}: live {(change.before or {}).get(k)!r}, manifests {v!r}"
                          for k, v in (change.after or {}).items() if (change.before or {}).get(k) != v]
            items.append(DriftItem(change.address, change.kind, DRIFT, change.action.value, build["summary"], lines,
                                   build["outside"], build.get("when"), {"build": build["details"]}))
        if build is None:
            # Nothing differs from the manifests; still say so if the build was swapped by hand.
            attribution = self.build_attribution(name)
            if attribution["outside"]:
                items.append(DriftItem(Address.service(name, "build"), "build", INFO, "no-op",
                                       attribution["summary"] + "; its code matches the manifests",
                                       [], True, attribution.get("when"), {"build": attribution["details"]}))
        return items

    def build_attribution(self, name: str) -> dict[str, Any]:
        if name in self._builds:
            return self._builds[name]
        live = self.ctx.live.services.get(name)
        env = live.environment if live else None
        result: dict[str, Any] = {"outside": None, "summary": "", "details": {}}
        if env is None or not env.build_sid:
            result["summary"] = "no build is deployed"
            self._builds[name] = result
            return result
        deployments = sorted(api.list_deployments(self.ctx.gw, live.sid, env.sid),
                             key=lambda d: when_of(d.date_created) or datetime.min.replace(tzinfo=UTC))
        build_of = {d.sid: d.build_sid for d in deployments}
        ours = self.ctx.history.our_deployments(name)
        expected, by = self.ctx.history.expected_build(name, build_of)
        current = [d for d in deployments if d.build_sid == env.build_sid]
        made_by = current[-1] if current else None
        details = {"live_build_sid": env.build_sid, "deployment_sid": made_by.sid if made_by else None,
                   "deployed_at": iso(made_by.date_created) if made_by else None,
                   "twideploy_build_sid": expected, "twideploy_deploy": deploy_ref(by)}
        result.update(details=details, when=details["deployed_at"])
        if not self.ctx.history.records:
            result["summary"] = (f"deployed build {env.build_sid}; no deploy journal of {self.ctx.environment} here, "
                                 f"so who deployed it is unknown")
        elif made_by is not None and made_by.sid in ours and env.build_sid == expected:
            result.update(outside=False, summary=f"live build {env.build_sid} is the one twideploy deployed "
                                                 f"({written_by(ours[made_by.sid])}); the manifests changed since")
        elif env.build_sid == expected:
            result.update(outside=False, summary=f"live build {env.build_sid} is the one twideploy left deployed "
                                                 f"({written_by(by)}); the manifests changed since")
        elif made_by is not None and made_by.sid in ours:
            result.update(outside=True, summary=f"build {env.build_sid} (from twideploy "
                                                f"{written_by(ours[made_by.sid])}) was redeployed outside "
                                                f"twideploy; twideploy last deployed {expected}")
        else:
            result.update(outside=True, summary=f"build {env.build_sid} was deployed outside twideploy"
                                                + (f" at {details['deployed_at']}" if details["deployed_at"] else "")
                                                + (f"; twideploy last deployed {expected} ({written_by(by)})"
                                                   if expected else "; no twideploy deploy made it"))
        self._builds[name] = result
        return result

    def variable(self, name: str, change: Change) -> DriftItem:
        key = change.address.name
        if change.action is Action.CREATE:
            return DriftItem(change.address, "variable", DRIFT, "create", f"{key} is not set live",
                             [f"{key}: missing live (value masked)"])
        if change.action is Action.DELETE:
            return DriftItem(change.address, "variable", DRIFT, "delete",
                             f"{key} is set live but not in the manifests (apply --prune deletes it)",
                             [f"{key}: set live (value masked)"])
        live = self.ctx.live.services[name]
        record = next((v for v in api.list_variables(self.ctx.gw, live.sid, live.environment.sid)
                       if v.key == key), None)
        updated = record.date_updated if record else None
        outside, summary = self.ctx.dated(change.address, updated, f"value of {key} differs from the manifests")
        return DriftItem(change.address, "variable", DRIFT, change.action.value, summary,
                         [f"{key}: value differs (values masked)"], outside, iso(updated))


UNVERIFIED_ASSET = ("content not verified: Twilio has no API to read asset content and this machine's "
                    "`.twideploy/cache` does not know the live version (apply would upload it again)")


def _unverified_asset(change: Change) -> bool:
    """An asset that differs only in that its live content hash is unknown."""
    before, after = change.before or {}, change.after or {}
    return (change.kind == "asset" and change.action is Action.UPDATE and before.get("sha256") is None
            and before.get("path") == after.get("path") and before.get("visibility") == after.get("visibility"))


def _only_code_changed(change: Change) -> bool:
    """A build change caused by code alone (same runtime and dependencies)."""
    before, after = change.before or {}, change.after or {}
    return all(before.get(k) == after.get(k) for k in ("runtime", "dependencies"))


def _short_hash(value: Any) -> str:
    return f"{value[:8]}..." if isinstance(value, str) else "unknown"


# --------------------------------------------------------------------------- promotion

def _origin(env_name: str, name: str, service_sid: str, env: LiveEnvironment, build: LiveBuild, gw: Gateway,
            history: History) -> tuple[str, dict[str, Any]]:
    """Where a promoted service comes from: its deployed build, and the deploy (and commit) that made it."""
    detail: dict[str, Any] = {"environment": env_name, "build_sid": build.sid}
    ours = history.our_deployments(name)
    deployments = api.list_deployments(gw, service_sid, env.sid)
    made = [d for d in deployments if d.build_sid == build.sid and d.sid in ours]
    if made:
        record = ours[made[-1].sid]
        sha = record.header.git_sha
        detail.update(deploy_id=record.deploy_id, git_sha=sha)
        text = f"{env_name} build {build.sid} (deploy {record.deploy_id}" + (f", git {sha}" if sha else "") + ")"
        return text, detail
    return f"{env_name} build {build.sid} (no deploy journal of {env_name} here says which commit)", detail


SECRET_LOOKING = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|AUTH|PRIVATE|CREDENTIAL", re.IGNORECASE)
RUNTIMES = ("node18", "node20", "node22")


@dataclass
class _ExportedService:
    folder: str
    live: LiveService
    environment: api.Environment | None  # the chosen Serverless environment


class _ServiceExport:
    """Export of the account's services: each one's environment (the one the environment file
    names for it, else the first with a build, else the first), its deployed build and each
    function version's content; asset content has no API, so assets are reported, not written.
    All services are exported, or with named flows the ones those flows run."""

    def __init__(self, ctx: ExportContext):
        by_unique = {s.unique_name: name for name, s in ctx.project.services.items()}
        cache = ContentCache(None)

        def read(record: api.Service) -> _ExportedService:
            folder = by_unique.get(record.unique_name, record.unique_name)
            environments = api.list_environments(ctx.gw, record.sid)
            wanted = ctx.env.services[folder].environment if folder in ctx.env.services else None
            chosen = next((e for e in environments if e.unique_name == wanted), None) \
                or next((e for e in environments if e.build_sid), None) or (environments[0] if environments else None)
            live = _read_service(ctx.gw, record, chosen.unique_name if chosen else "", cache)
            return _ExportedService(folder, live, chosen)

        self.services = {s.folder: s for s in ctx.gw.map(read, api.list_services(ctx.gw))}
        for service in self.services.values():
            env = service.live.environment
            if env is None:
                continue
            for path, code in service.live.functions.items():
                if code.version_sid:
                    ctx.book.functions[FunctionRef(service.folder, path)] = FunctionAddress(
                        service.live.sid, env.sid, code.sid, f"https://{env.domain_name}{path}")
        self.chosen: list[str] = []

    def select(self, ctx: ExportContext) -> None:
        self.chosen = sorted(folder for folder in self.services
                             if not ctx.flows or Address.service(folder) in ctx.referred)
        ctx.kept.update(Address.service(folder) for folder in [*self.chosen, *ctx.env.services])

    def write(self, ctx: ExportContext) -> None:
        for folder in self.chosen:
            self._write_service(ctx, self.services[folder])
        secret_values = set(Desired(ctx.project, ctx.env).secret_values())
        secret_keys = {key for env in ctx.project.environments.values() for settings in env.services.values()
                       for key, value in settings.variables.items() if isinstance(value, Secret)}
        for folder in self.chosen:
            self._environment(ctx, self.services[folder], secret_values, secret_keys)
        ctx.report.services = self.chosen

    def _write_service(self, ctx: ExportContext, service: _ExportedService) -> None:
        folder, live = service.folder, service.live
        base = ctx.project.root / "functions" / folder
        source = ctx.project.services.get(folder)
        build = live.build
        if build is None:
            ctx.report.warnings.append(f"service {folder}: no build deployed to environment "
                                       f"{service.environment.unique_name if service.environment else '(none)'}; "
                                       f"no code exported")
        runtime = build.runtime if build and build.runtime else "node22"
        if runtime not in RUNTIMES:
            ctx.report.warnings.append(f"service {folder}: runtime {runtime} is not one twideploy deploys "
                                       f"({', '.join(RUNTIMES)}); written as is, validate will reject it")
        spec: dict[str, Any] = {}
        if live.unique_name != folder:
            spec["unique_name"] = live.unique_name
        if live.friendly_name != live.unique_name:
            spec["friendly_name"] = live.friendly_name
        spec["runtime"] = runtime
        if build and build.dependencies:
            spec["dependencies"] = dict(build.dependencies)
        spec["ui_editable"] = live.ui_editable
        path = base / "service.yaml"
        existing = read_document(path) if path.exists() else None
        if existing is not None:
            current = plain(existing)
            meaning = {"unique_name": current.get("unique_name") or folder,
                       "friendly_name": current.get("friendly_name") or current.get("unique_name") or folder,
                       "runtime": current.get("runtime", "node22"), "dependencies": current.get("dependencies") or {},
                       "ui_editable": current.get("ui_editable", False)}
            wanted = {"unique_name": live.unique_name, "friendly_name": live.friendly_name, "runtime": runtime,
                      "dependencies": dict(build.dependencies) if build else {}, "ui_editable": live.ui_editable}
            if meaning == wanted:
                ctx.report.unchanged.append(ctx.rel(path))
            else:
                doc = {**{k: v for k, v in current.items()}, **spec}
                if "dependencies" not in spec:
                    doc.pop("dependencies", None)
                if "friendly_name" not in spec and "friendly_name" in current:
                    doc["friendly_name"] = live.friendly_name
                if "unique_name" not in spec and "unique_name" in current:
                    doc["unique_name"] = live.unique_name
                ctx.write(path, existing, doc)
        else:
            ctx.write(path, None, spec)

        deployed = [(c, c.version_sid) for c in live.functions.values() if c.version_sid]
        for code in live.functions.values():
            if not code.version_sid:
                ctx.report.warnings.append(f"service {folder}: function {code.path} is not in the deployed build; "
                                           f"not exported")

        def fetch(item: tuple[LiveCode, str]) -> str:
            return api.function_content(ctx.gw, live.sid, item[0].sid, item[1])

        for (code, _), content in zip(deployed, ctx.gw.map(fetch, deployed), strict=True):
            _write_code(ctx, base, source, code, content.encode("utf-8"))
        for code in live.assets.values():
            if not code.version_sid:
                continue
            local = source.file(code.path) if source else None
            if local is not None and local.kind == "asset":
                continue
            domain = live.environment.domain_name if live.environment else None
            where = f"; it is public at https://{domain}{code.path}" if domain and code.visibility == "public" else ""
            ctx.report.assets_not_fetched.append(
                f"{folder}{code.path} ({code.visibility}): Twilio has no API for asset content; put it in "
                f"functions/{folder}/assets{_asset_file(code.path, code.visibility or 'public')}{where}")

    def _environment(self, ctx: ExportContext, service: _ExportedService, secret_values: set[str],
                     secret_keys: set[str]) -> None:
        """The service's settings in the environment file. A variable's live value is written
        only for a key the manifests do not have yet and that is not a secret anywhere in the
        project nor looks like one; a key they have keeps their value (its live value may be a
        secret's earlier one)."""
        if service.environment is None:
            return
        current = ctx.env.services.get(service.folder)
        settings: dict[str, Any] = {}
        if current is None or current.environment != service.environment.unique_name:
            settings["environment"] = service.environment.unique_name
        suffix = service.environment.domain_suffix
        if suffix and (current is None or current.domain_suffix != suffix):
            settings["domain_suffix"] = suffix
        variables: dict[str, Any] = {}
        for key, (_, value) in sorted(service.live.variables.items()):
            if current is not None and key in current.variables:
                if not isinstance(current.variables[key], Secret) and current.variables[key] != value:
                    ctx.report.warnings.append(
                        f"service {service.folder}: variable {key} differs live; its live value is not exported "
                        f"(it may be a secret's earlier value): set it in {ctx.rel(ctx.env.file)} if it should stay")
                continue
            if SECRET_LOOKING.search(key) or key in secret_keys or value in secret_values:
                variables[key] = {"secret": f"${{env:{key}}}"}
                ctx.report.warnings.append(
                    f"service {service.folder}: variable {key} may be a secret; written as "
                    f"{{secret: ${{env:{key}}}}} - set {key} in the environment (its live value is not exported)")
            else:
                variables[key] = value
        if not settings and not variables:
            return
        own = ctx.environment.setdefault("services", {}).setdefault(service.folder, {})
        own.update(settings)
        if variables:
            own.setdefault("variables", {}).update(variables)
        ctx.environment_changed = True


def _write_code(ctx: ExportContext, base: Path, source: ServiceSource | None, code: LiveCode, content: bytes) -> None:
    """A function's deployed content at the file its path and visibility name (a file of the
    manifests for it elsewhere is removed), unless the file already holds it."""
    suffix = "" if code.visibility == "protected" else f".{code.visibility}"
    path = base / "functions" / f"{code.path.lstrip('/')}{suffix}.js"
    local = source.function(code.path) if source else None
    if local is not None and local.file != path:
        local.file.unlink()
        ctx.report.removed.append(ctx.rel(local.file))
    if path.exists() and path.read_bytes() == content:
        ctx.report.unchanged.append(ctx.rel(path))
        return
    (ctx.report.updated if path.exists() else ctx.report.created).append(ctx.rel(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def _asset_file(path: str, visibility: str) -> str:
    """Where the manifests keep an asset of this path and visibility, under assets/."""
    if visibility == "public":
        return path
    stem, dot, ext = path.rpartition(".")
    return f"{stem}.{visibility}.{ext}" if dot and "/" not in ext else f"{path}.{visibility}"


class ServerlessProvider:
    family = "service"
    name = "services"
    undo = UNDO

    def read(self, gw: Gateway, desired: Desired, cache: ContentCache, *, lazy: bool = False) -> dict[str, LiveService]:
        wanted = {name: source.unique_name for name, (source, _) in desired.services.items()}
        env_names = {name: settings.environment for name, (_, settings) in desired.services.items()}
        local = {name: {f.path: f.content_hash for f in source.functions}
                 for name, (source, _) in desired.services.items()}
        return read(gw, wanted, env_names, cache, local)

    def add_addresses(self, book: AddressBook, desired: Desired, live: Live) -> None:
        for name in desired.services:
            _enter(book, name, live.services.get(name))

    def plan(self, ctx: PlanContext) -> list[Change]:
        """Each service's changes; the live code of the updated functions of all of them is read
        at once, for their diffs."""
        planned = {name: plan(name, source, settings, ctx.live.services.get(name), ctx.prune)
                   for name, (source, settings) in ctx.desired.services.items()}

        def diff(name: str) -> None:
            attach_diffs(ctx.gw, name, ctx.desired.services[name][0], ctx.live.services.get(name), planned[name])

        ctx.gw.map(diff, list(planned))
        return [change for mine in planned.values() for change in mine]

    def fingerprint(self, live: Live, plan_key: bytes) -> dict[str, object]:
        return {name: fingerprint(s, plan_key) for name, s in sorted(live.services.items())}

    def check(self, ctx: ApplyContext, changes: list[Change]) -> None:
        """The code apply uploads is the code the plan hashed (a file edited since is refused)."""
        for name, (source, _) in ctx.desired.services.items():
            files = {Address.service(name, f.kind, f.path): f for f in [*source.functions, *source.assets]}
            for change in changes:
                if change.address in files and change.action in (Action.CREATE, Action.UPDATE):
                    file = files[change.address]
                    verify(change.address, change.after,
                           {"path": file.path, "visibility": file.visibility, "sha256": file.content_hash})

    def apply(self, ctx: ApplyContext, changes: list[Change]) -> list[Task]:
        """Each service's tasks (see ServiceDeployer); services do not wait on each other."""
        history = secret_history(ctx.records)
        return [task for name, (source, settings) in ctx.desired.services.items()
                for task in ServiceDeployer(ctx, name, source, settings,
                                            [c for c in changes if c.address.resource == Address.service(name)],
                                            history).tasks()]

    def prune(self, ctx: ApplyContext, changes: list[Change]) -> list[Task]:
        return [task for name in ctx.desired.services if name in ctx.live.services
                for task in delete_unmanaged_code(ctx.gw, ctx.live.services[name],
                                                  [c for c in changes if c.address.resource == Address.service(name)],
                                                  ctx.write)]

    def attribute(self, ctx: AuditContext, changes: list[Change]) -> list[DriftItem]:
        audit = _ServiceAudit(ctx)
        by_service: dict[str, list[Change]] = {}
        for change in changes:
            by_service.setdefault(change.address.owner, []).append(change)
        return [item for name, mine in by_service.items() for item in audit.service(name, mine)]

    def decompile(self, ctx: DecompileContext) -> None:
        """The services `target_env` deploys, with the code the source account's build runs (its
        runtime and dependencies too); assets stay the manifests' (Twilio cannot serve them)."""
        source, target = ctx.source_env, ctx.target_env
        services: dict[str, ServiceSource] = {}
        for name in target.services:
            manifest = ctx.project.services[name]
            found = ctx.live.services.get(name)
            if name not in source.services or found is None or found.build is None or found.environment is None:
                raise TwideployError(f"{target.name} deploys service {name}, but {source.name} has no build of it "
                                     f"deployed; apply {source.name} first")
            deployed = [(c, c.version_sid) for c in found.functions.values() if c.version_sid]

            def content(item: tuple[LiveCode, str], service_sid: str = found.sid) -> bytes:
                return api.function_content(ctx.gw, service_sid, item[0].sid, item[1]).encode("utf-8")

            functions = []
            for (code, _), body in zip(deployed, ctx.gw.map(content, deployed), strict=True):
                local = manifest.function(code.path)
                functions.append(CodeFile(code.path, code.visibility or "protected", body,
                                          local.file if local else
                                          ctx.project.root / "functions" / name / code.path.lstrip("/"), "function"))
            assets = []
            for code in found.assets.values():
                if not code.version_sid:
                    continue
                local = manifest.file(code.path)
                if local is None or local.kind != "asset":
                    ctx.warnings.append(f"service {name}: asset {code.path} is deployed in {source.name} but not "
                                        f"in the manifests; asset content cannot be read from Twilio, so it is not "
                                        f"promoted")
                    continue
                if code.content_hash and code.content_hash != local.content_hash:
                    ctx.warnings.append(f"service {name}: asset {code.path} differs between {source.name} and "
                                        f"the manifests; the manifests' version is promoted (Twilio cannot serve "
                                        f"asset content)")
                assets.append(local)
            services[name] = ServiceSource(name, manifest.unique_name, manifest.friendly_name,
                                           found.build.runtime or manifest.runtime, dict(found.build.dependencies),
                                           manifest.ui_editable, functions, assets, manifest.variables)
            text, detail = _origin(source.name, name, found.sid, found.environment, found.build, ctx.gw, ctx.history)
            ctx.origin[Address.service(name)], ctx.details[Address.service(name)] = text, detail
        ctx.project = dataclasses.replace(ctx.project, services={**ctx.project.services, **services})

    def export(self, ctx: ExportContext) -> _ServiceExport:
        return _ServiceExport(ctx)


def _enter(book: AddressBook, name: str, service: LiveService | None, paths: set[str] | None = None) -> None:
    """The functions of service `name` (those at `paths`, or all) in the address book, as its
    environment serves them (once it has one)."""
    if not service or not service.environment:
        return
    environment = service.environment
    book.enter_functions({FunctionRef(name, path): FunctionAddress(service.sid, environment.sid, code.sid,
                                                                   f"https://{environment.domain_name}{path}")
                          for path, code in service.functions.items() if paths is None or path in paths})


def deploy_preview(ctx: ApplyContext, name: str, paths: set[str], environment: str, domain_suffix: str,
                   book: AddressBook) -> LiveService:
    """Deploy the functions at `paths` of service `name`, and only those, to a Serverless
    environment of their own (a preview's, `environment` / `domain_suffix`) with the service's
    variables, and enter them in `book` as that environment serves them. The service's other
    environments are left alone: function resources and versions are service-wide, builds
    and deployments per environment. The writes are a deploy's (journalled by `ctx.write`,
    undone the same way: deleting the environment deletes its build and variables)."""
    source, settings = ctx.desired.services[name]
    live = ctx.live.services.get(name)
    if live is None:
        raise TwideployError(f"service {name} does not exist in {ctx.desired.env.name} yet: apply it once before "
                             f"previewing changes to its functions")
    only = dataclasses.replace(source, functions=[f for f in source.functions if f.path in paths], assets=[])
    where = dataclasses.replace(settings, environment=environment, domain_suffix=domain_suffix)
    fresh = LiveService(live.sid, live.unique_name, live.friendly_name, live.ui_editable,
                        functions={path: LiveCode(code.sid, path) for path, code in live.functions.items()})
    changes = [dataclasses.replace(c, action=Action.NOOP) if c.kind == "service" else c
               for c in plan(name, only, where, fresh, prune=False)]
    preview = dataclasses.replace(ctx, live=Live({**ctx.live.parts, "services": {**ctx.live.services, name: fresh}}),
                                  book=book)
    deployer = ServiceDeployer(preview, name, only, where, changes, secret_history(ctx.records))
    run_tasks(deployer.tasks(), workers=ctx.gw.concurrency)
    return deployer.service
