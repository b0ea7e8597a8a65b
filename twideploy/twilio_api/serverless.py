"""Serverless v1: services, environments, functions and assets, their versions, builds,
deployments and variables, as typed records. Function version content is fetched here only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from twideploy.twilio_api.gateway import Gateway, call

CodeKind = Literal["function", "asset"]


@dataclass
class Service:
    sid: str
    unique_name: str
    friendly_name: str
    ui_editable: bool


@dataclass
class Environment:
    sid: str
    unique_name: str
    domain_name: str
    build_sid: str | None
    domain_suffix: str | None = None


@dataclass
class Code:
    """A Function or an Asset resource (its name is its path)."""

    sid: str
    friendly_name: str


@dataclass
class Version:
    """A function or asset version: `code_sid` is its Function's or Asset's."""

    sid: str
    code_sid: str
    path: str
    visibility: str


@dataclass
class Build:
    sid: str
    status: str
    runtime: str | None
    dependencies: list[dict[str, str]] = field(default_factory=list)
    function_versions: list[Version] = field(default_factory=list)
    asset_versions: list[Version] = field(default_factory=list)


@dataclass
class Deployment:
    sid: str
    build_sid: str
    date_created: str = ""


@dataclass
class Variable:
    sid: str
    key: str
    value: str
    date_updated: str = ""


# --------------------------------------------------------------------------- services

def list_services(gw: Gateway) -> list[Service]:
    return [_service(r) for r in gw.list_all(gw.client.serverless.v1.services)]


def create_service(gw: Gateway, *, unique_name: str, friendly_name: str, ui_editable: bool) -> Service:
    return _service(call(lambda: gw.client.serverless.v1.services.create(
        unique_name=unique_name, friendly_name=friendly_name, ui_editable=ui_editable)))


def update_service(gw: Gateway, sid: str, *, friendly_name: str, ui_editable: bool) -> Service:
    return _service(call(lambda: _api(gw, sid).update(friendly_name=friendly_name, ui_editable=ui_editable),
                         idempotent=True))


def delete_service(gw: Gateway, sid: str) -> None:
    call(lambda: _api(gw, sid).delete())


# --------------------------------------------------------------------------- environments

def list_environments(gw: Gateway, service_sid: str) -> list[Environment]:
    return [_environment(r) for r in gw.list_all(_api(gw, service_sid).environments)]


def fetch_environment(gw: Gateway, service_sid: str, sid: str) -> Environment:
    return _environment(call(lambda: _api(gw, service_sid).environments(sid).fetch()))


def create_environment(gw: Gateway, service_sid: str, *, unique_name: str, domain_suffix: str | None) -> Environment:
    suffix = {"domain_suffix": domain_suffix} if domain_suffix else {}
    return _environment(call(lambda: _api(gw, service_sid).environments.create(unique_name=unique_name, **suffix)))


def delete_environment(gw: Gateway, service_sid: str, sid: str) -> None:
    call(lambda: _api(gw, service_sid).environments(sid).delete())


# --------------------------------------------------------------------------- functions and assets

def list_code(gw: Gateway, service_sid: str, kind: CodeKind) -> list[Code]:
    return [Code(r.sid, r.friendly_name) for r in gw.list_all(_code(gw, service_sid, kind))]


def create_code(gw: Gateway, service_sid: str, kind: CodeKind, path: str) -> Code:
    record = call(lambda: _code(gw, service_sid, kind).create(friendly_name=path))
    return Code(record.sid, record.friendly_name)


def delete_code(gw: Gateway, service_sid: str, kind: CodeKind, sid: str) -> None:
    call(lambda: _code(gw, service_sid, kind)(sid).delete())


def list_function_versions(gw: Gateway, service_sid: str, function_sid: str) -> list[Version]:
    return [Version(v.sid, function_sid, v.path, v.visibility)
            for v in gw.list_all(_api(gw, service_sid).functions(function_sid).function_versions)]


def function_content(gw: Gateway, service_sid: str, function_sid: str, version_sid: str) -> str:
    """The code of a function version (assets have no such endpoint)."""
    return call(lambda: _api(gw, service_sid).functions(function_sid).function_versions(version_sid)
                .function_version_content().fetch()).content


def upload_version(gw: Gateway, service_sid: str, kind: CodeKind, code_sid: str, *, path: str, visibility: str,
                   content: bytes, content_type: str) -> str:
    """A new version of a function or asset (not referenced until a build); its SID."""
    return gw.upload_version(service_sid, "Functions" if kind == "function" else "Assets", code_sid, path=path,
                             visibility=visibility, content=content, content_type=content_type)


# --------------------------------------------------------------------------- builds and deployments

def fetch_build(gw: Gateway, service_sid: str, sid: str) -> Build:
    return _build(call(lambda: _api(gw, service_sid).builds(sid).fetch()))


def create_build(gw: Gateway, service_sid: str, *, function_versions: list[str], asset_versions: list[str],
                 dependencies: str, runtime: str | None) -> Build:
    return _build(call(lambda: _api(gw, service_sid).builds.create(
        function_versions=function_versions, asset_versions=asset_versions, dependencies=dependencies,
        runtime=runtime)))


def build_status(gw: Gateway, service_sid: str, sid: str) -> str:
    return call(lambda: _api(gw, service_sid).builds(sid).build_status().fetch()).status


def list_deployments(gw: Gateway, service_sid: str, environment_sid: str) -> list[Deployment]:
    return [Deployment(d.sid, d.build_sid, str(d.date_created or ""))
            for d in gw.list_all(_api(gw, service_sid).environments(environment_sid).deployments)]


def create_deployment(gw: Gateway, service_sid: str, environment_sid: str, build_sid: str) -> Deployment:
    """Deploy a build (deploying the same build again is safe to retry)."""
    record = call(lambda: _api(gw, service_sid).environments(environment_sid).deployments.create(build_sid=build_sid),
                  idempotent=True)
    return Deployment(record.sid, record.build_sid, str(record.date_created or ""))


# --------------------------------------------------------------------------- variables

def list_variables(gw: Gateway, service_sid: str, environment_sid: str) -> list[Variable]:
    return [_variable(v) for v in gw.list_all(_variables(gw, service_sid, environment_sid))]


def create_variable(gw: Gateway, service_sid: str, environment_sid: str, key: str, value: str) -> Variable:
    return _variable(call(lambda: _variables(gw, service_sid, environment_sid).create(key=key, value=value)))


def update_variable(gw: Gateway, service_sid: str, environment_sid: str, sid: str, value: str) -> Variable:
    return _variable(call(lambda: _variables(gw, service_sid, environment_sid)(sid).update(value=value),
                          idempotent=True))


def delete_variable(gw: Gateway, service_sid: str, environment_sid: str, sid: str) -> None:
    call(lambda: _variables(gw, service_sid, environment_sid)(sid).delete())


# --------------------------------------------------------------------------- the SDK's shapes

def _api(gw: Gateway, service_sid: str) -> Any:
    return gw.client.serverless.v1.services(service_sid)


def _code(gw: Gateway, service_sid: str, kind: CodeKind) -> Any:
    api = _api(gw, service_sid)
    return api.functions if kind == "function" else api.assets


def _variables(gw: Gateway, service_sid: str, environment_sid: str) -> Any:
    return _api(gw, service_sid).environments(environment_sid).variables


def _service(r: Any) -> Service:
    return Service(r.sid, r.unique_name, r.friendly_name, bool(r.ui_editable))


def _environment(r: Any) -> Environment:
    return Environment(r.sid, r.unique_name, r.domain_name, r.build_sid, r.domain_suffix)


def _build(r: Any) -> Build:
    return Build(r.sid, r.status, r.runtime, list(r.dependencies or []),
                 [Version(v["sid"], v["function_sid"], v["path"], v["visibility"]) for v in r.function_versions or []],
                 [Version(v["sid"], v["asset_sid"], v["path"], v["visibility"]) for v in r.asset_versions or []])


def _variable(r: Any) -> Variable:
    return Variable(r.sid, r.key, r.value, str(r.date_updated or ""))
