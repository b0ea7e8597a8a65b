"""Export: write manifests from a live account, so a team can adopt an account built by hand.

What is read (all through the SDK):

* every Studio flow of the account (or the ones named, plus the subflows they run);
* every Serverless service: its environment (the one the environment file names for it,
  else the first), the deployed build, and each function version's content (Function
  Version Content); asset content has no API, so assets are reported, not written;
* every phone number whose URLs point at an exported flow or function.

An AddressBook of the whole account (every service's deployed functions, every flow) turns
the SIDs in the flows back into symbolic references with `decompile_flow`: a Run Function
widget's service/environment/function SIDs and URL become `function: svc/path`, a Run
Subflow's flow_sid becomes `flow: name`, and strings containing a var value of the
environment (a secret's, or any of >= 6 characters) get `${vars.x}`.

No secret value is written to a file. A flow string where the project's manifest of that flow
puts a secret var gets the manifest's template back even when the live text holds an earlier
(rotated) value of the secret, which no value comparison could find; when the live text
differs there in more than the secret, it is not exported (a warning says where). A service
variable's live value is written only for a key the manifests do not have yet and that is not
a secret anywhere in the project nor looks like one; a key they have keeps their value (its
live value may be a secret's earlier one).

Files are created, or updated in place with ruamel.yaml round-trip (comments, key order,
quoting and folded strings survive; see `yaml_writer`); a file whose content already means the same is not
touched. After `export`, `plan` against the same account shows no changes.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twideploy.errors import TwideployError
from twideploy.manifest import (
    AddressBook,
    Environment,
    FlowAddress,
    FunctionAddress,
    FunctionRef,
    Project,
    decompile_flow,
    load_project,
)
from twideploy.manifest.flow_loader import normalize_flow
from twideploy.manifest.references import FlowRef, UrlTarget, format_target, restore_secret_strings
from twideploy.plan.desired import Desired
from twideploy.providers import flows as flow_resources
from twideploy.providers import numbers as number_resources
from twideploy.providers import serverless
from twideploy.secrets import Secret
from twideploy.state.cache import ContentCache
from twideploy.twilio_api import serverless as serverless_api
from twideploy.twilio_api import studio
from twideploy.twilio_api.gateway import Gateway
from twideploy.workspace import open_account
from twideploy.yaml_writer import document_text, plain, read_document

SECRET_LOOKING = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|AUTH|PRIVATE|CREDENTIAL", re.IGNORECASE)
RUNTIMES = ("node18", "node20", "node22")
DEFAULT_FLAGS = {"allow_concurrent_calls": True}


@dataclass
class ExportReport:
    environment: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    flows: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    assets_not_fetched: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# --------------------------------------------------------------------------- the account


@dataclass
class _Service:
    folder: str
    live: serverless.LiveService
    environment: serverless_api.Environment | None  # the chosen Serverless environment
    environments: list[str]


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", text.strip().lower()).strip("-.")
    return slug or "flow"


class Exporter:
    def __init__(self, project: Project, env: Environment, gw: Gateway):
        self.project, self.env, self.gw = project, env, gw
        self.root = project.root
        self.report = ExportReport(env.name)

    # ---------------------------------------------------------------- read

    def read(self) -> None:
        self.flows = flow_resources.read(self.gw, set())
        taken = {source.friendly_name: name for name, source in self.project.flows.items()}
        self.flow_names: dict[str, str] = {}  # friendly_name -> manifest name
        used = set(self.project.flows)
        for friendly in sorted(self.flows):
            name = taken.get(friendly)
            if name is None:
                base = name = _slug(friendly)
                n = 2
                while name in used:
                    name, n = f"{base}-{n}", n + 1
                used.add(name)
            self.flow_names[friendly] = name
        self.services = self._read_services()
        self.book = AddressBook()
        for service in self.services.values():
            env = service.live.environment
            if env is None:
                continue
            for path, code in service.live.functions.items():
                if code.version_sid:
                    self.book.functions[FunctionRef(service.folder, path)] = FunctionAddress(
                        service.live.sid, env.sid, code.sid, f"https://{env.domain_name}{path}")
        for friendly, live in self.flows.items():
            self.book.flows[self.flow_names[friendly]] = FlowAddress(live.sid, live.webhook_url)

    def _read_services(self) -> dict[str, _Service]:
        by_unique = {s.unique_name: name for name, s in self.project.services.items()}
        records = serverless_api.list_services(self.gw)
        cache = ContentCache(None)

        def read(record: serverless_api.Service) -> _Service:
            folder = by_unique.get(record.unique_name, record.unique_name)
            environments = serverless_api.list_environments(self.gw, record.sid)
            wanted = self.env.services[folder].environment if folder in self.env.services else None
            chosen = next((e for e in environments if e.unique_name == wanted), None) \
                or next((e for e in environments if e.build_sid), None) or (environments[0] if environments else None)
            live = serverless._read_service(self.gw, record, chosen.unique_name if chosen else "", cache)
            return _Service(folder, live, chosen, [e.unique_name for e in environments])

        services = self.gw.map(read, records)
        return {s.folder: s for s in services}

    # ---------------------------------------------------------------- select

    def select_flows(self, names: list[str] | None) -> list[str]:
        """Friendly names of the flows to export: those named (by file name or friendly name)
        or all, plus every subflow they run."""
        if not names:
            return sorted(self.flows)
        by_name = {name: friendly for friendly, name in self.flow_names.items()}
        chosen = []
        for name in names:
            friendly = by_name.get(name) or (name if name in self.flows else None)
            if friendly is None:
                known = ", ".join(sorted(by_name)) or "none"
                raise TwideployError(f"no flow {name!r} in the account of {self.env.name} (flows: {known})")
            chosen.append(friendly)
        by_sid = {f.sid: friendly for friendly, f in self.flows.items()}
        queue = list(chosen)
        while queue:
            friendly = queue.pop()
            for sid in _subflow_sids(self._definition(friendly)):
                target = by_sid.get(sid)
                if target and target not in chosen:
                    chosen.append(target)
                    queue.append(target)
                    self.report.warnings.append(f"flow {self.flow_names[target]} is exported too: "
                                                f"{self.flow_names[friendly]} runs it as a subflow")
        return chosen

    def _definition(self, friendly: str) -> dict[str, Any]:
        live = self.flows[friendly]
        if live.definition is None:
            live.definition = studio.fetch_flow(self.gw, live.sid).definition or {}
        return live.definition

    # ---------------------------------------------------------------- run

    def run(self, names: list[str] | None = None) -> ExportReport:
        self.read()
        chosen = self.select_flows(names)
        symbolic = {}
        for friendly in chosen:
            name = self.flow_names[friendly]
            symbolic[name] = self._decompile(friendly, name)
        used_services = {ref.service for name in symbolic for ref in _function_refs(symbolic[name])}
        services = sorted(self.services) if not names else sorted(s for s in self.services if s in used_services)
        for name, definition in symbolic.items():
            live = self.flows[self._friendly(name)]
            self.write_flow(name, live, definition)
        for folder in services:
            self.write_service(self.services[folder])
        exported_flows = set(symbolic) | set(self.env.flows)
        exported_services = set(services) | set(self.env.services)
        bindings = self.bindings(exported_flows, exported_services)
        self.write_environment(list(symbolic), [self.services[f] for f in services], bindings)
        self.report.flows = list(symbolic)
        self.report.services = services
        self.report.numbers = sorted(bindings)
        return self.report

    def _friendly(self, name: str) -> str:
        return next(f for f, n in self.flow_names.items() if n == name)

    def _decompile(self, friendly: str, name: str) -> dict[str, Any]:
        live = self._definition(friendly)
        definition = decompile_flow(live, vars=self.env.vars, book=self.book)
        source = self.project.flows.get(name)
        if source is not None:
            for place in restore_secret_strings(definition, live, source.definition, self.env.vars):
                self.report.warnings.append(
                    f"flow {name}: {place} holds a secret var in the manifests and differs live in more than the "
                    f"secret; kept as the manifests say (a live text that may hold a secret is never written)")
        for state in definition.get("states") or []:
            props = state.get("properties") or {}
            if state.get("type") == "run-function" and "function" not in props and props.get("function_sid"):
                self.report.warnings.append(
                    f"flow {name}: widget {state.get('name')} runs function {props.get('function_sid')}, which no "
                    f"deployed build of this account contains; its SIDs and URL are kept as they are")
            if state.get("type") == "run-subflow" and "flow" not in props and props.get("flow_sid"):
                self.report.warnings.append(
                    f"flow {name}: widget {state.get('name')} runs subflow {props.get('flow_sid')}, which is not a "
                    f"flow of this account; its SID is kept as it is")
        return definition

    # ---------------------------------------------------------------- flows

    def write_flow(self, name: str, live: flow_resources.LiveFlow, definition: dict[str, Any]) -> None:
        source = self.project.flows.get(name)
        path = source.file if source else self.root / "flows" / f"{name}.yaml"
        existing = read_document(path) if path.exists() else None
        keep = set(existing or {})
        doc: dict[str, Any] = {"friendly_name": live.friendly_name}
        if definition.get("description") or "description" in keep:
            doc["description"] = definition.get("description", "")
        doc["status"] = live.status
        triggers = [s["name"] for s in definition.get("states") or [] if s.get("type") == "trigger"]
        implied = triggers[0] if len(triggers) == 1 else None
        if "initial_state" in definition and (definition["initial_state"] != implied or "initial_state" in keep):
            doc["initial_state"] = definition["initial_state"]
        if "flags" in definition and (definition["flags"] != DEFAULT_FLAGS or "flags" in keep):
            doc["flags"] = definition["flags"]
        for key, value in definition.items():
            if key not in ("description", "initial_state", "flags", "states"):
                doc[key] = value
        doc["states"] = [_state_doc(s) for s in definition.get("states") or []]
        if existing is not None and _flow_meaning(plain(existing)) == _flow_meaning(doc):
            self.report.unchanged.append(self._rel(path))
            return
        self._write(path, existing, doc, json_file=path.suffix == ".json")

    # ---------------------------------------------------------------- services

    def write_service(self, service: _Service) -> None:
        folder, live = service.folder, service.live
        base = self.root / "functions" / folder
        source = self.project.services.get(folder)
        build = live.build
        if build is None:
            self.report.warnings.append(f"service {folder}: no build deployed to environment "
                                        f"{service.environment.unique_name if service.environment else '(none)'}; "
                                        f"no code exported")
        runtime = build.runtime if build and build.runtime else "node22"
        if runtime not in RUNTIMES:
            self.report.warnings.append(f"service {folder}: runtime {runtime} is not one twideploy deploys "
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
                self.report.unchanged.append(self._rel(path))
            else:
                doc = {**{k: v for k, v in current.items()}, **spec}
                if "dependencies" not in spec:
                    doc.pop("dependencies", None)
                if "friendly_name" not in spec and "friendly_name" in current:
                    doc["friendly_name"] = live.friendly_name
                if "unique_name" not in spec and "unique_name" in current:
                    doc["unique_name"] = live.unique_name
                self._write(path, existing, doc)
        else:
            self._write(path, None, spec)

        deployed = [(c, c.version_sid) for c in live.functions.values() if c.version_sid]
        for code in live.functions.values():
            if not code.version_sid:
                self.report.warnings.append(f"service {folder}: function {code.path} is not in the deployed build; "
                                            f"not exported")

        def fetch(item: tuple[serverless.LiveCode, str]) -> str:
            return serverless_api.function_content(self.gw, live.sid, item[0].sid, item[1])

        for (code, _), content in zip(deployed, self.gw.map(fetch, deployed), strict=True):
            self._write_code(base, source, code, content.encode("utf-8"))
        for code in live.assets.values():
            if not code.version_sid:
                continue
            local = source.file(code.path) if source else None
            if local is not None and local.kind == "asset":
                continue
            domain = live.environment.domain_name if live.environment else None
            where = f"; it is public at https://{domain}{code.path}" if domain and code.visibility == "public" else ""
            self.report.assets_not_fetched.append(
                f"{folder}{code.path} ({code.visibility}): Twilio has no API for asset content; put it in "
                f"functions/{folder}/assets{_asset_file(code.path, code.visibility or 'public')}{where}")

    def _write_code(self, base: Path, source: Any, code: serverless.LiveCode, content: bytes) -> None:
        suffix = "" if code.visibility == "protected" else f".{code.visibility}"
        path = base / "functions" / f"{code.path.lstrip('/')}{suffix}.js"
        local = source.function(code.path) if source else None
        if local is not None and local.file != path:
            local.file.unlink()
            self.report.removed.append(self._rel(local.file))
        if path.exists() and path.read_bytes() == content:
            self.report.unchanged.append(self._rel(path))
            return
        (self.report.updated if path.exists() else self.report.created).append(self._rel(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)

    # ---------------------------------------------------------------- numbers

    def bindings(self, flow_names: set[str], service_names: set[str]) -> dict[str, dict[str, str]]:
        found = number_resources.read(self.gw)
        bindings: dict[str, dict[str, str]] = {}
        for number, live in sorted(found.items()):
            binding: dict[str, str] = {}
            ours = False
            for key, (url_field, method_field) in number_resources.FIELDS.items():
                url = live.fields.get(url_field)
                if not url:
                    continue
                target = self.book.target_for_url(url)
                if isinstance(target, FlowRef) and target.name not in flow_names or \
                        isinstance(target, FunctionRef) and target.service not in service_names:
                    self.report.warnings.append(f"number {number}: {url_field} points at {format_target(target)}, "
                                                f"which is not exported; kept as its URL")
                    target = UrlTarget(url)
                if isinstance(target, (FlowRef, FunctionRef)):
                    ours = True
                elif not url.startswith("https://"):
                    self.report.warnings.append(f"number {number}: {url_field} {url} is not https://; not exported")
                    continue
                binding[key] = format_target(target) if not isinstance(target, UrlTarget) else url
                method = live.fields.get(method_field) if method_field else None
                if method_field and method and method.upper() != "POST":
                    self.report.warnings.append(f"number {number}: {method_field} is {method}; twideploy binds with "
                                                f"POST, so the next apply changes it")
            if ours:
                bindings[number] = binding
        return bindings

    # ---------------------------------------------------------------- environment file

    def write_environment(self, flow_names: list[str], services: list[_Service],
                          bindings: dict[str, dict[str, str]]) -> None:
        path = Path(self.env.file)
        existing = read_document(path)
        data = plain(existing) if existing is not None else {}
        changed = False

        secret_values = set(Desired(self.project, self.env).secret_values())
        secret_keys = {key for env in self.project.environments.values() for settings in env.services.values()
                       for key, value in settings.variables.items() if isinstance(value, Secret)}

        merged_flows = list(self.env.flows)
        wanted_flows = merged_flows + [n for n in flow_names if n not in merged_flows]
        if wanted_flows != merged_flows:
            data["flows"] = wanted_flows
            changed = True

        for service in services:
            if service.environment is None:
                continue
            current = self.env.services.get(service.folder)
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
                        self.report.warnings.append(
                            f"service {service.folder}: variable {key} differs live; its live value is not exported "
                            f"(it may be a secret's earlier value): set it in {self._rel(path)} if it should stay")
                    continue
                if SECRET_LOOKING.search(key) or key in secret_keys or value in secret_values:
                    variables[key] = {"secret": f"${{env:{key}}}"}
                    self.report.warnings.append(
                        f"service {service.folder}: variable {key} may be a secret; written as "
                        f"{{secret: ${{env:{key}}}}} - set {key} in the environment (its live value is not exported)")
                else:
                    variables[key] = value
            if not settings and not variables:
                continue
            own = data.setdefault("services", {}).setdefault(service.folder, {})
            own.update(settings)
            if variables:
                own.setdefault("variables", {}).update(variables)
            changed = True

        for number, binding in bindings.items():
            bound = self.env.numbers.get(number)
            if bound is not None and bound.to_dict() == binding:
                continue
            data.setdefault("numbers", {})[number] = binding
            changed = True

        if not changed:
            self.report.unchanged.append(self._rel(path))
            return
        self._write(path, existing, data)

    # ---------------------------------------------------------------- files

    def _write(self, path: Path, existing: Any, doc: dict[str, Any], *, json_file: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = document_text(existing, doc, json_file=json_file)
        (self.report.updated if path.exists() else self.report.created).append(self._rel(path))
        path.write_text(text, encoding="utf-8")

    def _rel(self, path: Path) -> str:
        try:
            return Path(path).resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return str(path)


def _state_doc(state: dict[str, Any]) -> dict[str, Any]:
    ordered: dict[str, Any] = {k: state[k] for k in ("name", "type", "properties", "transitions") if k in state}
    ordered.update({k: v for k, v in state.items() if k not in ordered})
    return copy.deepcopy(ordered)


def _flow_meaning(doc: dict[str, Any]) -> tuple:
    data = copy.deepcopy(doc)
    return (data.get("friendly_name"), data.get("status", "published"), normalize_flow(data))


def _asset_file(path: str, visibility: str) -> str:
    if visibility == "public":
        return path
    stem, dot, ext = path.rpartition(".")
    return f"{stem}.{visibility}.{ext}" if dot and "/" not in ext else f"{path}.{visibility}"


def _subflow_sids(definition: dict[str, Any]) -> list[str]:
    return [s["properties"]["flow_sid"] for s in definition.get("states") or []
            if s.get("type") == "run-subflow" and isinstance((s.get("properties") or {}).get("flow_sid"), str)]


def _function_refs(definition: dict[str, Any]) -> list[FunctionRef]:
    refs = []
    for state in definition.get("states") or []:
        function = (state.get("properties") or {}).get("function") if state.get("type") == "run-function" else None
        if isinstance(function, str):
            refs.append(FunctionRef.parse(function))
    return refs


# --------------------------------------------------------------------------- entry points


def export_account(project: Project, env: Environment, gw: Gateway, *, flows: list[str] | None = None) -> ExportReport:
    return Exporter(project, env, gw).run(flows)


def export(root: Path, env_name: str | None, *, flows: list[str] | None = None) -> ExportReport:
    project = load_project(root)
    env = project.environment(project.default_environment if env_name is None else env_name)
    with open_account(project, env) as gw:
        return export_account(project, env, gw, flows=flows)
