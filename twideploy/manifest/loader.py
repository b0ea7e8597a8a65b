"""Loading a project directory: parse every manifest, check it against its schema, build the model.

`analyze` never stops at the first problem: it loads whatever is loadable and returns every
problem found, so `validate` can list them all; `load_project` raises them as one
ManifestError. Names whose files failed to load are recorded in `Project.broken`, so later
checks do not add "unknown flow" to a flow whose file has a syntax error.

Every file is read here, and only if it resolves inside the project directory: a function
that is a symlink to /etc/passwd, or an asset linked to /proc/self/environ, would otherwise be
published. Sizes and nesting are bounded (see `documents`), and so are `extends` chains and
vars that use vars, which are resolved recursively.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path
from typing import Any, Callable

from twideploy.errors import ManifestError, Problem
from twideploy.manifest.documents import Document, LineMap, ParseError, format_path, read_document, read_limited
from twideploy.manifest.models import EnvironmentSpec, FlowSpec, ProjectSpec, ServiceSpec, schema_problems
from twideploy.manifest.project import (
    Binding,
    CodeFile,
    Environment,
    EnvSecret,
    FlowSource,
    Project,
    ServiceEnvironment,
    ServiceSource,
)
from twideploy.manifest.references import _FLOW_NAME, parse_target
from twideploy.manifest.templates import NAME, EnvRef, Part, VarRef, has_url_password, parse_template
from twideploy.secrets import Secret

PROJECT_FILE = "twideploy.yaml"
FLOW_SUFFIXES = (".yaml", ".yml", ".json")
E164 = re.compile(r"\+[1-9][0-9]{1,14}")
SERVICE_UNIQUE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,49}")
SERVERLESS_ENV_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
DOMAIN_SUFFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,15}")
ENVIRONMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
ACCOUNT_SID = re.compile(r"AC[0-9a-f]{32}")
CODE_PATH = re.compile(r"/[A-Za-z0-9._~/-]*")
VISIBILITIES = ("public", "protected", "private")
# npm's rules for package names (capitals only in old packages), and a version that is a semver
# range or a dist-tag: no `file:`, `link:`, git or URL dependency, which would make Twilio's
# build read a path or fetch code from somewhere else.
NPM_PACKAGE = re.compile(r"(@[a-z0-9~-][a-z0-9._~-]*/)?[A-Za-z0-9~-][A-Za-z0-9._~-]{0,213}")
NPM_VERSION = re.compile(r"[0-9A-Za-z.^~<>=*|+_ -]{1,256}")
MAX_CODE_BYTES = 25_000_000  # Twilio's limit for a public or protected asset
MAX_PRIVATE_ASSET_BYTES = 10_000_000  # and for a private one
MAX_EXTENDS = 16  # environment files in one `extends` chain
MAX_VAR_NESTING = 32  # vars using vars using vars...


def load_project(root: Path | str) -> Project:
    """Parse and schema-check every manifest under `root`; ManifestError lists all problems."""
    project, problems = analyze(root)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ManifestError(errors)
    project.warnings = [p for p in problems if p.severity != "error"]
    return project


def analyze(root: Path | str) -> tuple[Project, list[Problem]]:
    """Load what can be loaded; return the (possibly partial) project and every problem."""
    loader = _Loader(Path(root).resolve())
    return loader.run(), loader.problems


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _visible(path: Path) -> bool:
    return not any(part.startswith(".") for part in path.parts)


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Loader:
    def __init__(self, root: Path):
        self.root = root
        self.problems: list[Problem] = []
        self.sources: dict[str, LineMap] = {}
        self.broken: set[str] = set()

    # ------------------------------------------------------------------ helpers

    def error(self, file: str, line: int, message: str) -> None:
        self.problems.append(Problem(file, line, message))

    def warn(self, file: str, line: int, message: str) -> None:
        self.problems.append(Problem(file, line, message, "warning"))

    def inside(self, path: Path, file: str) -> bool:
        """Whether `path`, symlinks resolved, is in the project (else an error at `file`)."""
        try:
            real = path.resolve(strict=True)
        except RuntimeError:  # Python < 3.13 says so for a symlink loop
            self.error(file, 1, "cannot read file: Too many levels of symbolic links")
            return False
        except OSError as exc:
            self.error(file, 1, f"cannot read file: {exc.strerror}")
            return False
        if not real.is_relative_to(self.root):
            self.error(file, 1, f"outside the project directory (a link to {real}); twideploy reads only "
                                "files inside it")
            return False
        return True

    def read(self, path: Path) -> Document | None:
        file = _rel(self.root, path)
        if not self.inside(path, file):
            return None
        try:
            doc = read_document(path, file)
        except ParseError as exc:
            self.problems.append(exc.problem)
            return None
        self.sources[file] = doc.lines
        return doc

    def check(self, model, doc: Document) -> Any:
        spec, problems = schema_problems(model, doc.data, doc.lines, json_paths=doc.file.endswith(".json"))
        self.problems.extend(problems)
        return spec

    # ------------------------------------------------------------------ run

    def run(self) -> Project:
        if not self.root.is_dir():
            self.error(str(self.root), 0, "project directory does not exist")
            return Project(self.root, "", "", {}, {}, {})
        spec = self.load_project_file()
        flows = self.load_flows()
        services = self.load_services()
        environments, abstract = self.load_environments(services)
        project = Project(
            root=self.root,
            name=spec.name if spec else "",
            default_environment=spec.default_environment if spec else "",
            flows=flows,
            services=services,
            environments=environments,
            sources=self.sources,
            abstract_environments=abstract,
            broken=self.broken,
        )
        if spec and spec.default_environment not in environments and f"env:{spec.default_environment}" not in self.broken:
            lines = self.sources[PROJECT_FILE]
            known = ", ".join(sorted(environments)) or "none"
            what = "is abstract" if spec.default_environment in abstract else "is not an environment"
            self.problems.append(lines.problem(
                ("default_environment",),
                f"default_environment {spec.default_environment!r} {what} (environments: {known})",
            ))
        return project

    # ------------------------------------------------------------------ twideploy.yaml

    def load_project_file(self) -> ProjectSpec | None:
        path = self.root / PROJECT_FILE
        if not path.is_file():
            self.error(PROJECT_FILE, 0, f"not found: {self.root} is not a twideploy project (run `twideploy init`)")
            return None
        doc = self.read(path)
        return self.check(ProjectSpec, doc) if doc else None

    # ------------------------------------------------------------------ flows/

    def load_flows(self) -> dict[str, FlowSource]:
        flows: dict[str, FlowSource] = {}
        seen_files: dict[str, str] = {}
        base = self.root / "flows"
        if not base.is_dir():
            return flows
        for path in sorted(p for p in base.rglob("*") if p.is_file() and _visible(p.relative_to(self.root))):
            file = _rel(self.root, path)
            if path.suffix not in FLOW_SUFFIXES:
                self.warn(file, 1, "ignored: flow files end in .yaml, .yml or .json")
                continue
            name = path.relative_to(base).with_suffix("").as_posix()
            if not _FLOW_NAME.fullmatch(name):
                self.error(file, 1, f"invalid flow name {name!r}: use letters, digits, '.', '_' and '-'")
                continue
            if name in seen_files:
                self.error(file, 1, f"flow {name!r} is also defined by {seen_files[name]}; keep one file per flow")
                continue
            seen_files[name] = file
            doc = self.read(path)
            spec = self.check(FlowSpec, doc) if doc else None
            if spec is None:
                self.broken.add(f"flow:{name}")
                continue
            flows[name] = FlowSource(
                name=name,
                friendly_name=spec.friendly_name or name,
                file=path,
                status=spec.status or "published",
                definition=normalize_flow(doc.data),
            )
        return flows

    # ------------------------------------------------------------------ functions/

    def load_services(self) -> dict[str, ServiceSource]:
        services: dict[str, ServiceSource] = {}
        base = self.root / "functions"
        if not base.is_dir():
            return services
        for folder in sorted(base.iterdir()):
            if folder.name.startswith("."):
                continue
            if not folder.is_dir():
                self.warn(_rel(self.root, folder), 1, "ignored: each service is a folder under functions/")
                continue
            service = self.load_service(folder)
            if service is None:
                self.broken.add(f"service:{folder.name}")
            else:
                services[folder.name] = service
        seen: dict[str, str] = {}
        for name, service in services.items():
            if service.unique_name in seen:
                self.error(f"functions/{name}/service.yaml", 1,
                           f"unique_name {service.unique_name!r} is also used by service {seen[service.unique_name]!r}")
            seen[service.unique_name] = name
        return services

    def load_service(self, folder: Path) -> ServiceSource | None:
        name = folder.name
        spec_path = folder / "service.yaml"
        if not spec_path.is_file():
            self.error(_rel(self.root, folder), 0, "service folder has no service.yaml")
            return None
        doc = self.read(spec_path)
        spec: ServiceSpec | None = self.check(ServiceSpec, doc) if doc else None
        if spec is None:
            return None
        ok = True
        unique_name = name if spec.unique_name is None else spec.unique_name
        if not SERVICE_UNIQUE_NAME.fullmatch(unique_name):
            where = ("unique_name",) if spec.unique_name else ()
            hint = "" if spec.unique_name else " (the folder name; set unique_name in service.yaml)"
            self.problems.append(doc.lines.problem(
                where, f"unique_name {unique_name!r}{hint} must be 1-50 letters, digits or '-'"))
            ok = False
        variables: dict[str, str] = {}
        for key, value in spec.variables.items():
            if not NAME.fullmatch(key):
                self.problems.append(doc.lines.problem(("variables", key), f"variables: invalid variable name {key!r}"))
                ok = False
            if isinstance(value, dict):
                self.problems.append(doc.lines.problem(
                    ("variables", key),
                    f"variables.{key}: secrets belong in environment files (services.{name}.variables), not in service.yaml"))
                ok = False
                continue
            text = _scalar_text(value)
            try:
                refs = [p for p in parse_template(text) if isinstance(p, EnvRef)]
            except ValueError as exc:
                self.problems.append(doc.lines.problem(("variables", key), f"variables.{key}: {exc}"))
                ok = False
                continue
            if has_url_password(text):  # here once, rather than once per environment that deploys it
                self.problems.append(doc.lines.problem(
                    ("variables", key), f"variables.{key}: holds a URL with a password, which plans and logs "
                                        f"would print: move it to the environment files as {{secret: ...}}"))
                ok = False
                continue
            if refs:
                self.problems.append(doc.lines.problem(
                    ("variables", key),
                    f"variables.{key}: ${{env:{refs[0].name}}} is only allowed in environment files"))
                ok = False
            variables[key] = text
        for package, version in spec.dependencies.items():
            if not NPM_PACKAGE.fullmatch(package):
                self.problems.append(doc.lines.problem(("dependencies", package),
                                                       f"dependencies: invalid npm package name {package[:100]!r}"))
                ok = False
            elif not NPM_VERSION.fullmatch(version):
                self.problems.append(doc.lines.problem(
                    ("dependencies", package),
                    f"dependencies.{package}: {version[:100]!r} is not an npm version range or tag (e.g. ^1.7.0); "
                    "file:, link:, git and URL dependencies cannot be deployed"))
                ok = False
        functions = self.load_code(folder, "functions", "function")
        assets = self.load_code(folder, "assets", "asset")
        if functions is None or assets is None:
            return None
        taken = {f.path: f for f in functions}
        for asset in assets:
            if asset.path in taken:
                self.error(_rel(self.root, asset.file), 0,
                           f"path {asset.path} is also the path of {_rel(self.root, taken[asset.path].file)}")
                ok = False
        if not functions and not assets:
            self.warn(_rel(self.root, spec_path), 1, f"service {name!r} has no functions and no assets")
        if not ok:
            return None
        return ServiceSource(
            name=name,
            unique_name=unique_name,
            friendly_name=unique_name if spec.friendly_name is None else spec.friendly_name,
            runtime=spec.runtime,
            dependencies=dict(spec.dependencies),
            ui_editable=spec.ui_editable,
            functions=functions,
            assets=assets,
            variables=variables,
        )

    def load_code(self, folder: Path, sub: str, kind: str) -> list[CodeFile] | None:
        base = folder / sub
        out: list[CodeFile] = []
        if not base.is_dir():
            return out
        ok = True
        by_path: dict[str, CodeFile] = {}
        for path in sorted(p for p in base.rglob("*") if p.is_file() and _visible(p.relative_to(base))):
            file = _rel(self.root, path)
            rel = path.relative_to(base)
            if kind == "function" and path.suffix != ".js":
                self.warn(file, 1, "ignored: functions are .js files (put other files under assets/)")
                continue
            markers = [piece for piece in rel.name.split(".")[1:] if piece in VISIBILITIES]
            if len(markers) > 1:
                self.error(file, 1, f"the file name has {len(markers)} visibility markers ({', '.join(markers)}); "
                                    "keep one")
                ok = False
                continue
            if kind == "function":
                stem = rel.name[: -len(".js")]
                visibility = "protected"
                for marker in VISIBILITIES:
                    if stem.endswith("." + marker):
                        stem, visibility = stem[: -len(marker) - 1], marker
                name = stem
            else:
                pieces = rel.name.split(".")
                visibility = "public"
                marker_index = len(pieces) - 2 if len(pieces) > 2 else len(pieces) - 1
                if len(pieces) > 1 and pieces[marker_index] in VISIBILITIES:
                    visibility = pieces.pop(marker_index)
                name = ".".join(pieces)
            code_path = "/" + (rel.parent / name).as_posix() if rel.parent.parts else "/" + name
            if not name or not CODE_PATH.fullmatch(code_path) or len(code_path) > 255:
                self.error(file, 1, f"invalid {kind} path {code_path!r}: use letters, digits and . _ ~ - /")
                ok = False
                continue
            if code_path in by_path:
                self.error(file, 1, f"{kind} path {code_path} is also the path of {_rel(self.root, by_path[code_path].file)}")
                ok = False
                continue
            try:
                if not self.inside(path, file):
                    ok = False
                    continue
                content = read_limited(path, file, MAX_CODE_BYTES)
            except ParseError as exc:
                self.problems.append(exc.problem)
                ok = False
                continue
            if kind == "asset" and visibility == "private" and len(content) > MAX_PRIVATE_ASSET_BYTES:
                self.error(file, 1, f"a private asset may be at most {MAX_PRIVATE_ASSET_BYTES:,} bytes (Twilio's limit)")
                ok = False
                continue
            code = CodeFile(path=code_path, visibility=visibility, content=content, file=path, kind=kind)
            by_path[code_path] = code
            out.append(code)
        return out if ok else None

    # ------------------------------------------------------------------ environments/

    def load_environments(self, services: dict[str, ServiceSource]) -> tuple[dict[str, Environment], set[str]]:
        base = self.root / "environments"
        docs: dict[str, Document] = {}
        if base.is_dir():
            for path in sorted(base.iterdir()):
                if path.name.startswith("."):
                    continue
                file = _rel(self.root, path)
                if path.is_dir() or path.suffix not in (".yaml", ".yml"):
                    self.warn(file, 0 if path.is_dir() else 1, "ignored: environment files are environments/<name>.yaml")
                    continue
                name = path.stem
                if not ENVIRONMENT_NAME.fullmatch(name):
                    self.error(file, 1, f"invalid environment name {name!r}: use letters, digits, '_' and '-'")
                    continue
                if name in docs:
                    self.error(file, 1, f"environment {name!r} is defined twice")
                    continue
                doc = self.read(path)
                if doc is None or self.check(EnvironmentSpec, doc) is None:
                    self.broken.add(f"env:{name}")
                    continue
                docs[name] = doc
        if not docs and not any(b.startswith("env:") for b in self.broken) and PROJECT_FILE in self.sources:
            self.error("environments", 0, "no environments: add environments/<name>.yaml")

        merged: dict[str, tuple[Any, LineMap] | None] = {}
        too_long: list[str] = []

        def resolve(name: str, chain: tuple[str, ...]) -> tuple[Any, LineMap] | None:
            if name in merged:
                return merged[name]
            doc = docs[name]
            parent = doc.data.get("extends")
            if parent is None:
                result: tuple[Any, LineMap] | None = (doc.data, doc.lines)
            elif parent in chain or parent == name:
                cycle = " -> ".join((*chain, name, parent))
                self.problems.append(doc.lines.problem(("extends",), f"extends: cycle {cycle}"))
                result = None
            elif len(chain) + 1 >= MAX_EXTENDS:
                if not too_long:  # once, not again for the rest of the chain
                    self.problems.append(doc.lines.problem(
                        ("extends",), f"extends: more than {MAX_EXTENDS} environment files in one chain"))
                too_long.append(name)
                result = None
            elif parent not in docs:
                if f"env:{parent}" not in self.broken:
                    known = ", ".join(sorted(docs)) or "none"
                    self.problems.append(doc.lines.problem(
                        ("extends",), f"extends: no environment {parent!r} (environments/{parent}.yaml; known: {known})"))
                result = None
            else:
                base_result = resolve(parent, (*chain, name))
                result = None if base_result is None else merge_documents(base_result, (doc.data, doc.lines))
            merged[name] = result
            return result

        environments: dict[str, Environment] = {}
        abstract: set[str] = set()
        for name, doc in docs.items():
            result = resolve(name, ())
            if result is None:
                self.broken.add(f"env:{name}")
                continue
            data, lines = result
            if doc.data.get("abstract"):
                abstract.add(name)
                continue
            spec, problems = schema_problems(EnvironmentSpec, data, lines)
            if problems:  # pragma: no cover - merging valid files gives a valid file
                self.problems.extend(problems)
                self.broken.add(f"env:{name}")
                continue
            env = _EnvironmentBuilder(self, name, doc, spec, data, lines, services).build()
            if env is None:
                self.broken.add(f"env:{name}")
            else:
                environments[name] = env
        return environments, abstract


def merge_documents(base: tuple[Any, LineMap], overlay: tuple[Any, LineMap]) -> tuple[Any, LineMap]:
    """Deep-merge `overlay` onto `base` (mappings merge, everything else is replaced),
    keeping for each value the file and line it came from. `extends` and `abstract` are the
    overlay's own and never inherited."""
    base_data, base_lines = base
    over_data, over_lines = overlay
    out = LineMap(over_lines.file)
    base_data = {k: v for k, v in base_data.items() if k not in ("extends", "abstract")}

    # Paths by parent, so that copying a subtree's lines costs the subtree's size: scanning
    # every entry per key made a base with 60,000 vars take minutes.
    children: dict[int, dict[tuple, list[tuple]]] = {}
    for lines in (base_lines, over_lines):
        kids = children[id(lines)] = {}
        for p in lines.entries:
            if p:
                kids.setdefault(p[:-1], []).append(p)

    def copy_lines(source: LineMap, path: tuple) -> None:
        kids, todo = children[id(source)], [path]
        while todo:
            p = todo.pop()
            if p in source.entries:
                out.entries[p] = source.entries[p]
            todo.extend(kids.get(p, ()))

    def merge(b: Any, o: Any, path: tuple) -> Any:
        if isinstance(b, dict) and isinstance(o, dict):
            result: dict[Any, Any] = {}
            for key, value in b.items():
                if key in o:
                    result[key] = merge(value, o[key], path + (key,))
                else:
                    result[key] = copy.deepcopy(value)
                    copy_lines(base_lines, path + (key,))
            for key, value in o.items():
                if key not in b:
                    result[key] = copy.deepcopy(value)
                    copy_lines(over_lines, path + (key,))
            if path in over_lines.entries:
                out.entries[path] = over_lines.entries[path]
            return result
        copy_lines(over_lines, path)
        return copy.deepcopy(o)

    data = merge(base_data, over_data, ())
    out.entries[()] = (over_lines.file, 1)
    return data, out


def normalize_flow(data: dict[str, Any]) -> dict[str, Any]:
    """The Studio definition part of a flow file, with Studio's defaults made explicit."""
    definition = {k: copy.deepcopy(v) for k, v in data.items() if k not in ("friendly_name", "status")}
    definition.setdefault("description", "")
    if definition.get("flags") is None:
        definition["flags"] = {"allow_concurrent_calls": True}
    states = definition.get("states") or []
    for state in states:
        state.setdefault("properties", {})
        state.setdefault("transitions", [])
    if not definition.get("initial_state"):
        triggers = [s["name"] for s in states if s.get("type") == "trigger"]
        if len(triggers) == 1:
            definition["initial_state"] = triggers[0]
    ordered = {k: definition[k] for k in ("description", "initial_state", "flags", "states") if k in definition}
    ordered.update({k: v for k, v in definition.items() if k not in ordered})
    return ordered


# --------------------------------------------------------------------------- one environment


class _Value:
    """A partly resolved value: parts to join, and whether it is (or uses) a secret."""

    def __init__(self, parts: list[Part | "_Value"], secret: bool, where: tuple[str, int], label: str, env: str):
        self.env = env
        self.parts = parts
        self.secret = secret
        self.where = where
        self.label = label

    def flat(self) -> list[Part]:
        out: list[Part] = []
        for part in self.parts:
            out.extend(part.flat() if isinstance(part, _Value) else [part])
        return out

    def uses_secret(self) -> bool:
        return self.secret or any(isinstance(p, _Value) and p.uses_secret() for p in self.parts)

    def env_refs(self) -> list[tuple[EnvRef, "_Value"]]:
        out: list[tuple[EnvRef, _Value]] = []
        for part in self.parts:
            if isinstance(part, EnvRef):
                out.append((part, self))
            elif isinstance(part, _Value):
                out.extend(part.env_refs())
        return out

    def render(self, *, strict: bool) -> tuple[str, list[Problem]]:
        text: list[str] = []
        problems: list[Problem] = []
        for part in self.parts:
            if isinstance(part, _Value):
                sub, sub_problems = part.render(strict=strict)
                text.append(sub)
                problems += [p for p in sub_problems if p not in problems]
            elif isinstance(part, EnvRef):
                value = os.environ.get(part.name)
                if value is None:
                    problems.append(Problem(self.where[0], self.where[1],
                                            f"environment variable {part.name} is not set (needed by {self.label} "
                                            f"of environment {self.env!r})"))
                    text.append(f"${{env:{part.name}}}")
                else:
                    text.append(value)
            else:
                text.append(part)
        return "".join(text), problems


class _EnvironmentBuilder:
    def __init__(self, loader: _Loader, name: str, doc: Document, spec: EnvironmentSpec, data: dict,
                 lines: LineMap, services: dict[str, ServiceSource]):
        self.loader = loader
        self.name = name
        self.doc = doc
        self.spec = spec
        self.data = data
        self.lines = lines
        self.services = services
        self.ok = True
        self.vars: dict[str, _Value | None] = {}
        self.resolving: list[str] = []
        self.too_deep = False
        self.missing: list[Problem] = []

    def fail(self, path: tuple, message: str, lines: LineMap | None = None) -> None:
        self.loader.problems.append((lines or self.lines).problem(path, message))
        self.ok = False

    # -------------------------------------------------------------- values

    def parse(self, raw: Any, path: tuple, *, allow_env: bool = True, lines: LineMap | None = None,
              label: str | None = None) -> _Value | None:
        secret = isinstance(raw, dict)
        text = _scalar_text(raw["secret"] if secret else raw)
        label = label or format_path(path)
        try:
            parts = parse_template(text)
        except ValueError as exc:
            self.fail(path, f"{label}: {exc}", lines)
            return None
        where = (lines or self.lines).locate(path)
        resolved: list[Part | _Value] = []
        for part in parts:
            if isinstance(part, EnvRef) and not allow_env:
                self.fail(path, f"{label}: ${{env:{part.name}}} is only allowed in environment files", lines)
                return None
            if isinstance(part, VarRef):
                var = self.var(part.name, path, lines, label)
                if var is None:
                    return None
                resolved.append(var)
            else:
                resolved.append(part)
        return _Value(resolved, secret, where, label, self.name)

    def var(self, name: str, used_at: tuple, lines: LineMap | None, label: str) -> _Value | None:
        if name in self.vars:
            return self.vars[name]
        raw_vars = self.data.get("vars") or {}
        if name not in raw_vars:
            defined = ", ".join(sorted(raw_vars)) or "none"
            self.fail(used_at, f"{label}: ${{vars.{name}}} is not defined in environment {self.name!r} (vars: {defined})", lines)
            return None
        if name in self.resolving:
            cycle = " -> ".join([*self.resolving[self.resolving.index(name):], name])
            self.fail(("vars", name), f"vars.{name}: vars refer to each other in a cycle: {cycle}")
            self.vars[name] = None
            return None
        if len(self.resolving) >= MAX_VAR_NESTING:
            if not self.too_deep:  # once, not again for every var further up the chain
                self.fail(("vars", name), f"vars.{name}: vars use vars more than {MAX_VAR_NESTING} levels deep")
            self.too_deep = True
            self.vars[name] = None
            return None
        self.resolving.append(name)
        value = self.parse(raw_vars[name], ("vars", name))
        self.resolving.pop()
        self.vars[name] = value
        return value

    def finish(self, value: _Value, key: tuple, lines: LineMap | None = None) -> str | Secret:
        """A final value: a str (env read now; a missing one is recorded, not raised), a Secret,
        or an EnvSecret that reads the environment when revealed."""
        if value.uses_secret() and not value.secret:
            self.fail(key, f"{value.label}: uses a secret var, so it must be a secret too: write {{secret: ...}}", lines)
            return ""
        if value.secret:
            if not value.env_refs():
                text, _ = value.render(strict=True)
                return Secret(text)

            def compute(value: _Value = value) -> str:
                text, problems = value.render(strict=True)
                if problems:
                    raise ManifestError(problems)
                return text

            return EnvSecret(compute, (self.name, value.label))
        text, problems = value.render(strict=False)
        if has_url_password(text):
            self.fail(key, f"{value.label}: holds a URL with a password, which plans and logs would print: "
                           "write {secret: ...}", lines)
            return ""
        self.missing += [p for p in problems if p not in self.missing]
        return text

    # -------------------------------------------------------------- build

    def build(self) -> Environment | None:
        spec, data = self.spec, self.data
        root_problem_path: tuple = ()
        if spec.target is None:
            self.fail(root_problem_path, "missing required key 'target' (twilio or emulator)")
            return None
        for name in data.get("vars") or {}:
            if not NAME.fullmatch(str(name)):
                self.fail(("vars", name), f"vars: invalid var name {name!r} (letters, digits and _)")
        env_vars: dict[str, str | Secret] = {}
        for name in data.get("vars") or {}:
            value = self.var(name, ("vars", name), None, f"vars.{name}")
            if value is not None:
                env_vars[name] = self.finish(value, ("vars", name))

        account: dict[str, Callable[[], str]] = {}
        emulator_sid: str | None = None
        if spec.target == "twilio":
            if spec.emulator is not None:
                self.fail(("emulator",), "emulator: only allowed with target: emulator")
            if spec.account is None:
                self.fail((), "target twilio needs an account: {sid, api_key, api_secret} or {sid, auth_token}")
            else:
                account = self.account(spec)
        else:
            if spec.account is not None:
                self.fail(("account",), "account: not allowed with target: emulator (the emulator needs no credentials)")
            if spec.emulator is not None and spec.emulator.account_sid is not None:
                emulator_sid = spec.emulator.account_sid
                if not ACCOUNT_SID.fullmatch(emulator_sid):
                    self.fail(("emulator", "account_sid"), "emulator.account_sid: expected AC followed by 32 hex digits")

        services: dict[str, ServiceEnvironment] = {}
        for name, service_spec in spec.services.items():
            services[name] = self.service(name, service_spec)

        numbers: dict[str, Binding] = {}
        for number, binding in spec.numbers.items():
            if not E164.fullmatch(number):
                self.fail(("numbers", number), f"numbers: {number!r} is not an E.164 number (e.g. \"+15005550006\")")
                continue
            targets = {}
            for field in Binding.TARGET_FIELDS:
                text = getattr(binding, field)
                if text is not None:
                    targets[field] = parse_target(text)
            numbers[number] = Binding(**targets, friendly_name=binding.friendly_name)

        seen: set[str] = set()
        for i, flow in enumerate(spec.flows):
            if flow in seen:
                self.loader.problems.append(self.lines.problem(("flows", i), f"flows: {flow!r} is listed twice", "warning"))
            seen.add(flow)

        for key in ("target", "extends", "emulator"):
            self.no_templates(key)
        for i, _ in enumerate(spec.flows):
            self.no_templates("flows", i)
        for number in spec.numbers:
            self.no_templates("numbers", number)
        if not self.ok:
            return None
        env = Environment(
            name=self.name,
            file=self.loader.root / self.doc.file,
            target=spec.target,
            emulator_account_sid=emulator_sid,
            vars=env_vars,
            services=services,
            flows=list(dict.fromkeys(spec.flows)),
            numbers=numbers,
            prune=spec.prune,
            lines=self.lines,
        )
        env._account = account
        env._account_lines = {key: self.lines.locate(("account", key)) for key in account}
        env._missing = self.missing
        return env

    def no_templates(self, *path: Any) -> None:
        def walk(value: Any, p: tuple) -> None:
            if isinstance(value, str) and "${" in value:
                self.fail(p, f"{format_path(p)}: ${{...}} references are not allowed here")
            elif isinstance(value, dict):
                for k, v in value.items():
                    walk(v, p + (k,))
            elif isinstance(value, list):
                for i, v in enumerate(value):
                    walk(v, p + (i,))

        value: Any = self.data
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        walk(value, tuple(path))

    def account(self, spec: EnvironmentSpec) -> dict[str, Callable[[], str]]:
        acc = spec.account
        assert acc is not None
        if acc.sid is None:
            self.fail(("account",), "account: missing required key 'sid' (e.g. ${env:TWILIO_ACCOUNT_SID})")
        if acc.auth_token is not None and (acc.api_key is not None or acc.api_secret is not None):
            self.fail(("account",), "account: give either api_key + api_secret or auth_token, not both")
        elif acc.auth_token is None and (acc.api_key is None or acc.api_secret is None):
            missing = "api_secret" if acc.api_key is not None else "api_key" if acc.api_secret is not None else "api_key + api_secret (or auth_token)"
            self.fail(("account",), f"account: missing {missing}")
        computes: dict[str, Callable[[], str]] = {}
        for key in ("sid", "api_key", "api_secret", "auth_token"):
            raw = getattr(acc, key)
            if raw is None:
                continue
            value = self.parse(raw, ("account", key))
            if value is None:
                continue
            if key in ("api_secret", "auth_token") and not value.env_refs():
                self.fail(("account", key), f"account.{key}: must come from the environment, e.g. ${{env:TWILIO_{key.upper()}}}; never commit it")
                continue

            def compute(value: _Value = value) -> str:
                text, problems = value.render(strict=True)
                if problems:
                    raise ManifestError(problems)
                return text

            computes[key] = compute
        return computes

    def service(self, name: str, spec) -> ServiceEnvironment:
        base = ("services", name)
        if not SERVERLESS_ENV_NAME.fullmatch(spec.environment):
            self.fail(base + ("environment",), f"services.{name}.environment: invalid Serverless environment name {spec.environment!r}")
        if spec.domain_suffix is not None and not DOMAIN_SUFFIX.fullmatch(spec.domain_suffix):
            self.fail(base + ("domain_suffix",), f"services.{name}.domain_suffix: must be 1-16 letters, digits or '-'")
        variables: dict[str, str | Secret] = {}
        source = self.services.get(name)
        if source is not None:
            service_lines = self.loader.sources.get(f"functions/{name}/service.yaml")
            for key, text in source.variables.items():
                if key in spec.variables:
                    continue
                value = self.parse(text, ("variables", key), allow_env=False, lines=service_lines,
                                   label=f"variables.{key} (in environment {self.name!r})")
                if value is not None:
                    variables[key] = self.finish(value, ("variables", key), service_lines)
        for key, raw in spec.variables.items():
            path = base + ("variables", key)
            if not NAME.fullmatch(key):
                self.fail(path, f"services.{name}.variables: invalid variable name {key!r}")
                continue
            value = self.parse(raw, path)
            if value is not None:
                variables[key] = self.finish(value, path)
        return ServiceEnvironment(environment=spec.environment, domain_suffix=spec.domain_suffix, variables=variables)
