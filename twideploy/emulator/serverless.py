"""Serverless v1: Services, Environments, Functions, Assets, their Versions and Content,
Builds (with status progression), Deployments and Variables; plus the upload host's
multipart `POST .../Functions/{sid}/Versions` and `.../Assets/{sid}/Versions`.

A Build answers `building` when created and its final status (`completed`, or `failed`
when fault injection asked for it) from the first read on, as if it built in between.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, request

from twideploy.emulator import sids
from twideploy.emulator.store import Record
from twideploy.emulator.wire import (
    TwilioError,
    account,
    bad_param,
    bool_param,
    json_response,
    list_param,
    no_content,
    not_found,
    now,
    paged,
    param,
    required,
    state,
    url,
)

bp = Blueprint("serverless", __name__, url_prefix="/v1/Services")

VISIBILITIES = ("public", "protected", "private")
RUNTIMES = ("node8", "node10", "node12", "node14", "node16", "node18", "node20", "node22")
DEFAULT_RUNTIME = "node22"


def _base(*parts: str) -> str:
    return url("/v1/Services/" + "/".join(parts))


def _get(kind: str, sid: str, parent: str) -> Record:
    record = account().get(kind, sid, parent)
    if record is None:
        raise not_found()
    return record


def _create(kind: str, prefix: str, parent: str | None, fields: dict[str, Any]) -> Record:
    db = account()
    timestamp = now()
    record = {"sid": sids.new_sid(prefix), "account_sid": db.sid, **fields,
              "date_created": timestamp, "date_updated": timestamp}
    db.insert(kind, parent, record)
    return record


def _save(record: Record, **changes: Any) -> Record:
    record.update(changes, date_updated=now())
    account().put(record["sid"], record)
    return record


def _delete(record: Record) -> Response:
    account().delete(record["sid"])
    return no_content()


# Services: addressed by sid or unique_name, in their own path and in their children's.


def _service(sid_or_name: str) -> Record:
    db = account()
    service = db.get("service", sid_or_name) or db.find("service", unique_name=sid_or_name)
    if service is None:
        raise not_found()
    return service


def render_service(r: Record) -> dict[str, Any]:
    base = _base(r["sid"])
    return {
        "sid": r["sid"], "account_sid": r["account_sid"],
        "friendly_name": r["friendly_name"], "unique_name": r["unique_name"],
        "include_credentials": r["include_credentials"], "ui_editable": r["ui_editable"],
        "domain_base": r["domain_base"],
        "date_created": r["date_created"], "date_updated": r["date_updated"], "url": base,
        "links": {name: f"{base}/{name.title()}" for name in ("environments", "functions", "assets", "builds")},
    }


@bp.post("")
def create_service() -> Response:
    db = account()
    unique_name = required("UniqueName", max_len=50)
    friendly_name = required("FriendlyName", max_len=255)
    if db.find("service", unique_name=unique_name):
        raise TwilioError(409, 20409, f"Service with UniqueName {unique_name!r} already exists")
    include_credentials = bool_param("IncludeCredentials")
    ui_editable = bool_param("UiEditable")
    sid = sids.new_sid(sids.SERVICE)
    timestamp = now()
    record = {
        "sid": sid, "account_sid": db.sid, "friendly_name": friendly_name, "unique_name": unique_name,
        "include_credentials": True if include_credentials is None else include_credentials,
        "ui_editable": bool(ui_editable),
        # Twilio adds four digits to the unique name to make the service's domains.
        "domain_base": f"{unique_name.lower()}-{int(sid[2:], 16) % 9000 + 1000}",
        "date_created": timestamp, "date_updated": timestamp,
    }
    db.insert("service", None, record)
    return json_response(render_service(record), 201)


@bp.get("")
def list_services() -> Response:
    return paged("services", "service", None, render_service)


@bp.get("/<Sid>")
def fetch_service(Sid: str) -> Response:
    return json_response(render_service(_service(Sid)))


@bp.post("/<Sid>")
def update_service(Sid: str) -> Response:
    service = _service(Sid)
    changes: dict[str, Any] = {}
    for name, field in (("IncludeCredentials", "include_credentials"), ("UiEditable", "ui_editable")):
        value = bool_param(name)
        if value is not None:
            changes[field] = value
    friendly_name = param("FriendlyName", max_len=255)
    if friendly_name is not None:
        changes["friendly_name"] = friendly_name
    return json_response(render_service(_save(service, **changes)))


@bp.delete("/<Sid>")
def delete_service(Sid: str) -> Response:
    return _delete(_service(Sid))


# Environments


def render_environment(r: Record) -> dict[str, Any]:
    base = _base(r["service_sid"], "Environments", r["sid"])
    return {
        "sid": r["sid"], "account_sid": r["account_sid"], "service_sid": r["service_sid"],
        "build_sid": r["build_sid"], "unique_name": r["unique_name"],
        "domain_suffix": r["domain_suffix"], "domain_name": r["domain_name"],
        "date_created": r["date_created"], "date_updated": r["date_updated"], "url": base,
        "links": {name: f"{base}/{name.title()}" for name in ("variables", "deployments", "logs")},
    }


def _environment(service: Record, sid: str) -> Record:
    return _get("environment", sid, service["sid"])


@bp.post("/<ServiceSid>/Environments")
def create_environment(ServiceSid: str) -> Response:
    service = _service(ServiceSid)
    unique_name = required("UniqueName", max_len=100)
    suffix = param("DomainSuffix", max_len=16)
    if suffix is not None and not all(c.isalnum() or c == "-" for c in suffix):
        raise bad_param(f"Invalid DomainSuffix {suffix!r}: use letters, digits and hyphens")
    for field, value in (("unique_name", unique_name), ("domain_suffix", suffix)):
        if value and account().find("environment", service["sid"], **{field: value}):
            raise TwilioError(409, 20409, "Environment with this UniqueName or DomainSuffix already exists.")
    domain = service["domain_base"] + (f"-{suffix}" if suffix else "") + ".twil.io"
    record = _create(
        "environment", sids.ENVIRONMENT, service["sid"],
        dict(service_sid=service["sid"], build_sid=None, unique_name=unique_name,
             domain_suffix=suffix, domain_name=domain),
    )
    return json_response(render_environment(record), 201)


@bp.get("/<ServiceSid>/Environments")
def list_environments(ServiceSid: str) -> Response:
    return paged("environments", "environment", _service(ServiceSid)["sid"], render_environment)


@bp.get("/<ServiceSid>/Environments/<Sid>")
def fetch_environment(ServiceSid: str, Sid: str) -> Response:
    return json_response(render_environment(_environment(_service(ServiceSid), Sid)))


@bp.delete("/<ServiceSid>/Environments/<Sid>")
def delete_environment(ServiceSid: str, Sid: str) -> Response:
    return _delete(_environment(_service(ServiceSid), Sid))


# Functions and Assets: the same resource under two names.

_FILE_KINDS = {
    # path segment: (kind, sid field in its versions, links key of the resource)
    "Functions": ("function", "function_sid", "function_versions"),
    "Assets": ("asset", "asset_sid", "asset_versions"),
}


def render_file(r: Record) -> dict[str, Any]:
    segment = "Functions" if r["kind"] == "function" else "Assets"
    base = _base(r["service_sid"], segment, r["sid"])
    return {
        "sid": r["sid"], "account_sid": r["account_sid"], "service_sid": r["service_sid"],
        "friendly_name": r["friendly_name"],
        "date_created": r["date_created"], "date_updated": r["date_updated"], "url": base,
        "links": {_FILE_KINDS[segment][2]: f"{base}/Versions"},
    }


def _file(segment: str, service_sid: str, sid: str) -> tuple[Record, Record]:
    service = _service(service_sid)
    return service, _get(_FILE_KINDS[segment][0], sid, service["sid"])


def _add_file_routes(segment: str) -> None:
    kind = _FILE_KINDS[segment][0]
    collection = f"/<ServiceSid>/{segment}"
    item = f"{collection}/<Sid>"

    def create(ServiceSid: str) -> Response:
        service = _service(ServiceSid)
        record = _create(kind, sids.FUNCTION if kind == "function" else sids.ASSET, service["sid"],
                         dict(kind=kind, service_sid=service["sid"],
                              friendly_name=required("FriendlyName", max_len=255)))
        return json_response(render_file(record), 201)

    def list_(ServiceSid: str) -> Response:
        return paged(f"{kind}s", kind, _service(ServiceSid)["sid"], render_file)

    def fetch(ServiceSid: str, Sid: str) -> Response:
        return json_response(render_file(_file(segment, ServiceSid, Sid)[1]))

    def update(ServiceSid: str, Sid: str) -> Response:
        record = _file(segment, ServiceSid, Sid)[1]
        return json_response(render_file(_save(record, friendly_name=required("FriendlyName", max_len=255))))

    def delete(ServiceSid: str, Sid: str) -> Response:
        return _delete(_file(segment, ServiceSid, Sid)[1])

    bp.add_url_rule(collection, f"create_{kind}", create, methods=["POST"])
    bp.add_url_rule(collection, f"list_{kind}s", list_, methods=["GET"])
    bp.add_url_rule(item, f"fetch_{kind}", fetch, methods=["GET"])
    bp.add_url_rule(item, f"update_{kind}", update, methods=["POST"])
    bp.add_url_rule(item, f"delete_{kind}", delete, methods=["DELETE"])


# Versions: created by the upload host's multipart POST, read through the SDK.


def render_version(r: Record) -> dict[str, Any]:
    segment = "Functions" if r["kind"] == "function_version" else "Assets"
    parent_field = _FILE_KINDS[segment][1]
    base = _base(r["service_sid"], segment, r[parent_field], "Versions", r["sid"])
    body = {
        "sid": r["sid"], "account_sid": r["account_sid"], "service_sid": r["service_sid"],
        parent_field: r[parent_field], "path": r["path"], "visibility": r["visibility"],
        "date_created": r["date_created"], "url": base,
    }
    if segment == "Functions":
        body["links"] = {"function_version_content": f"{base}/Content"}
    return body


def _version_summary(r: Record) -> dict[str, Any]:
    """A version as a Build lists it."""
    parent_field = "function_sid" if r["kind"] == "function_version" else "asset_sid"
    return {
        "sid": r["sid"], "account_sid": r["account_sid"], "service_sid": r["service_sid"],
        parent_field: r[parent_field], "date_created": r["date_created"],
        "path": r["path"], "visibility": r["visibility"],
    }


def _add_version_routes(segment: str) -> None:
    kind, parent_field, _ = _FILE_KINDS[segment]
    version_kind = f"{kind}_version"
    parent_param = f"{kind.title()}Sid"
    collection = f"/<ServiceSid>/{segment}/<{parent_param}>/Versions"

    def upload(ServiceSid: str, **path: str) -> Response:
        service, parent = _file(segment, ServiceSid, path[parent_param])
        file_path = required("Path", max_len=255)
        visibility = required("Visibility", choices=VISIBILITIES)
        content = request.files.get("Content")
        body = content.read() if content is not None else request.form.get("Content", "").encode()
        if content is None and "Content" not in request.form:
            raise bad_param("Missing required parameter Content in the post body")
        db = account()
        record = {
            "sid": sids.new_sid(sids.VERSION), "kind": version_kind, "account_sid": db.sid,
            "service_sid": service["sid"], parent_field: parent["sid"],
            "path": file_path, "visibility": visibility, "date_created": now(),
        }
        db.insert(version_kind, parent["sid"], record)
        db.store.put_blob(record["sid"], body)
        return json_response(render_version(record), 201)

    def list_(ServiceSid: str, **path: str) -> Response:
        parent = _file(segment, ServiceSid, path[parent_param])[1]
        return paged(f"{kind}_versions", version_kind, parent["sid"], render_version)

    def fetch(ServiceSid: str, Sid: str, **path: str) -> Response:
        parent = _file(segment, ServiceSid, path[parent_param])[1]
        return json_response(render_version(_get(version_kind, Sid, parent["sid"])))

    bp.add_url_rule(collection, f"upload_{version_kind}", upload, methods=["POST"])
    bp.add_url_rule(collection, f"list_{version_kind}s", list_, methods=["GET"])
    bp.add_url_rule(f"{collection}/<Sid>", f"fetch_{version_kind}", fetch, methods=["GET"])


for _segment in _FILE_KINDS:
    _add_file_routes(_segment)
    _add_version_routes(_segment)


@bp.get("/<ServiceSid>/Functions/<FunctionSid>/Versions/<Sid>/Content")
def fetch_function_version_content(ServiceSid: str, FunctionSid: str, Sid: str) -> Response:
    function = _file("Functions", ServiceSid, FunctionSid)[1]
    version = _get("function_version", Sid, function["sid"])
    content = account().store.get_blob(Sid) or b""
    return json_response({
        "sid": version["sid"], "account_sid": version["account_sid"],
        "service_sid": version["service_sid"], "function_sid": version["function_sid"],
        "content": content.decode("utf-8", errors="replace"),
        "url": render_version(version)["url"] + "/Content",
    })


# Builds


def render_build(r: Record) -> dict[str, Any]:
    base = _base(r["service_sid"], "Builds", r["sid"])
    return {
        "sid": r["sid"], "account_sid": r["account_sid"], "service_sid": r["service_sid"],
        "status": r["status"], "asset_versions": r["asset_versions"],
        "function_versions": r["function_versions"], "dependencies": r["dependencies"],
        "runtime": r["runtime"], "date_created": r["date_created"], "date_updated": r["date_updated"],
        "url": base, "links": {"build_status": f"{base}/Status"},
    }


def _build(ServiceSid: str, Sid: str) -> Record:
    """The build, moved on to its final status if this is the first read since it was created."""
    build = _get("build", Sid, _service(ServiceSid)["sid"])
    if build["status"] == "building":
        _save(build, status=build["final_status"])
    return build


def _versions(kind: str, service_sid: str, name: str) -> list[Record]:
    """The versions the repeated parameter `name` lists, as a Build shows them."""
    versions = []
    for sid in list_param(name):
        version = account().get(kind, sid)
        if version is None or version["service_sid"] != service_sid:
            raise bad_param(f"Invalid {name}: {sid} is not a version in this service")
        versions.append(_version_summary(version))
    return versions


def _dependencies() -> list[dict[str, Any]]:
    """The `Dependencies` parameter: a JSON list of {"name", "version"} objects.

    Twilio also takes that list wrapped in one pair of literal double quotes, which is how
    its own Node client (@twilio-labs/serverless-api, behind `twilio serverless:deploy`)
    sends it. A JSON list never starts with a quote, so removing them is unambiguous.
    """
    raw = param("Dependencies") or "[]"
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        raw = raw[1:-1]
    try:
        dependencies = json.loads(raw)
    except json.JSONDecodeError:
        raise bad_param("Invalid Dependencies: not valid JSON") from None
    if not isinstance(dependencies, list) or not all(
        isinstance(d, dict) and {"name", "version"} <= d.keys() for d in dependencies
    ):
        raise bad_param("Invalid Dependencies: expected a JSON list of {\"name\", \"version\"} objects")
    return dependencies


@bp.post("/<ServiceSid>/Builds")
def create_build(ServiceSid: str) -> Response:
    service = _service(ServiceSid)
    function_versions = _versions("function_version", service["sid"], "FunctionVersions")
    asset_versions = _versions("asset_version", service["sid"], "AssetVersions")
    dependencies = _dependencies()
    runtime = param("Runtime", choices=RUNTIMES) or DEFAULT_RUNTIME
    record = _create(
        "build", sids.BUILD, service["sid"],
        dict(service_sid=service["sid"], status="building",
             final_status="failed" if state().faults.take_build_failure() else "completed",
             function_versions=function_versions, asset_versions=asset_versions,
             dependencies=dependencies, runtime=runtime),
    )
    return json_response(render_build(record), 201)


@bp.get("/<ServiceSid>/Builds")
def list_builds(ServiceSid: str) -> Response:
    service = _service(ServiceSid)
    for build in account().select("build", service["sid"], equal={"status": "building"}):
        _build(ServiceSid, build["sid"])
    return paged("builds", "build", service["sid"], render_build)


@bp.get("/<ServiceSid>/Builds/<Sid>")
def fetch_build(ServiceSid: str, Sid: str) -> Response:
    return json_response(render_build(_build(ServiceSid, Sid)))


@bp.get("/<ServiceSid>/Builds/<Sid>/Status")
def fetch_build_status(ServiceSid: str, Sid: str) -> Response:
    build = _build(ServiceSid, Sid)
    return json_response({
        "sid": build["sid"], "account_sid": build["account_sid"], "service_sid": build["service_sid"],
        "status": build["status"], "url": _base(build["service_sid"], "Builds", build["sid"], "Status"),
    })


@bp.delete("/<ServiceSid>/Builds/<Sid>")
def delete_build(ServiceSid: str, Sid: str) -> Response:
    return _delete(_get("build", Sid, _service(ServiceSid)["sid"]))


# Deployments: point an environment at a completed build.


def render_deployment(r: Record) -> dict[str, Any]:
    return {
        "sid": r["sid"], "account_sid": r["account_sid"], "service_sid": r["service_sid"],
        "environment_sid": r["environment_sid"], "build_sid": r["build_sid"],
        "date_created": r["date_created"], "date_updated": r["date_updated"],
        "url": _base(r["service_sid"], "Environments", r["environment_sid"], "Deployments", r["sid"]),
    }


@bp.post("/<ServiceSid>/Environments/<EnvironmentSid>/Deployments")
def create_deployment(ServiceSid: str, EnvironmentSid: str) -> Response:
    service = _service(ServiceSid)
    environment = _environment(service, EnvironmentSid)
    build_sid = param("BuildSid")
    if build_sid is not None:
        build = account().get("build", build_sid, service["sid"])
        if build is None:
            raise bad_param(f"Invalid BuildSid: {build_sid} is not a build of this service")
        if build["status"] != "completed":
            raise bad_param(f"Build {build_sid} cannot be deployed: its status is {build['status']}")
    record = _create(
        "deployment", sids.DEPLOYMENT, environment["sid"],
        dict(service_sid=service["sid"], environment_sid=environment["sid"], build_sid=build_sid),
    )
    _save(environment, build_sid=build_sid)
    return json_response(render_deployment(record), 201)


@bp.get("/<ServiceSid>/Environments/<EnvironmentSid>/Deployments")
def list_deployments(ServiceSid: str, EnvironmentSid: str) -> Response:
    environment = _environment(_service(ServiceSid), EnvironmentSid)
    return paged("deployments", "deployment", environment["sid"], render_deployment)


@bp.get("/<ServiceSid>/Environments/<EnvironmentSid>/Deployments/<Sid>")
def fetch_deployment(ServiceSid: str, EnvironmentSid: str, Sid: str) -> Response:
    environment = _environment(_service(ServiceSid), EnvironmentSid)
    return json_response(render_deployment(_get("deployment", Sid, environment["sid"])))


# Variables: unique Key per environment.


def render_variable(r: Record) -> dict[str, Any]:
    return {
        "sid": r["sid"], "account_sid": r["account_sid"], "service_sid": r["service_sid"],
        "environment_sid": r["environment_sid"], "key": r["key"], "value": r["value"],
        "date_created": r["date_created"], "date_updated": r["date_updated"],
        "url": _base(r["service_sid"], "Environments", r["environment_sid"], "Variables", r["sid"]),
    }


def _check_key_free(environment: Record, key: str) -> None:
    if account().find("variable", environment["sid"], key=key):
        raise bad_param(f"Variable with Key {key!r} already exists in this environment")


def _variable(ServiceSid: str, EnvironmentSid: str, Sid: str) -> tuple[Record, Record]:
    environment = _environment(_service(ServiceSid), EnvironmentSid)
    return environment, _get("variable", Sid, environment["sid"])


@bp.post("/<ServiceSid>/Environments/<EnvironmentSid>/Variables")
def create_variable(ServiceSid: str, EnvironmentSid: str) -> Response:
    environment = _environment(_service(ServiceSid), EnvironmentSid)
    key = required("Key", max_len=128)
    value = required("Value")
    _check_key_free(environment, key)
    record = _create(
        "variable", sids.VARIABLE, environment["sid"],
        dict(service_sid=environment["service_sid"], environment_sid=environment["sid"], key=key, value=value),
    )
    return json_response(render_variable(record), 201)


@bp.get("/<ServiceSid>/Environments/<EnvironmentSid>/Variables")
def list_variables(ServiceSid: str, EnvironmentSid: str) -> Response:
    environment = _environment(_service(ServiceSid), EnvironmentSid)
    return paged("variables", "variable", environment["sid"], render_variable)


@bp.get("/<ServiceSid>/Environments/<EnvironmentSid>/Variables/<Sid>")
def fetch_variable(ServiceSid: str, EnvironmentSid: str, Sid: str) -> Response:
    return json_response(render_variable(_variable(ServiceSid, EnvironmentSid, Sid)[1]))


@bp.post("/<ServiceSid>/Environments/<EnvironmentSid>/Variables/<Sid>")
def update_variable(ServiceSid: str, EnvironmentSid: str, Sid: str) -> Response:
    environment, variable = _variable(ServiceSid, EnvironmentSid, Sid)
    changes = {}
    key = param("Key", max_len=128)
    if key is not None and key != variable["key"]:
        _check_key_free(environment, key)
        changes["key"] = key
    value = param("Value")
    if value is not None:
        changes["value"] = value
    return json_response(render_variable(_save(variable, **changes)))


@bp.delete("/<ServiceSid>/Environments/<EnvironmentSid>/Variables/<Sid>")
def delete_variable(ServiceSid: str, EnvironmentSid: str, Sid: str) -> Response:
    return _delete(_variable(ServiceSid, EnvironmentSid, Sid)[1])
