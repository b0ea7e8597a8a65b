"""Loading `functions/`: one Serverless service per folder, its functions and assets as CodeFiles.

A folder holds `service.yaml` (runtime, npm dependencies, default variables) and the code
under `functions/` and `assets/`, whose paths and visibilities come from the file names as in
twilio-run (`hello.public.js` is /hello, public). Everything a deploy would publish is checked
here, before any request: names and versions npm would resolve from somewhere else (`file:`,
git, URLs), variables that belong in environment files (secrets, `${env:...}`, passwords in
URLs), two files for one path, and Twilio's size limits.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from twideploy.manifest.documents import ParseError, read_limited
from twideploy.manifest.files import ProjectFiles, visible
from twideploy.manifest.models import ServiceSpec
from twideploy.manifest.project import CodeFile, ServiceSource
from twideploy.manifest.templates import NAME, EnvRef, has_url_password, parse_template, scalar_text

SERVICE_UNIQUE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,49}")
CODE_PATH = re.compile(r"/[A-Za-z0-9._~/-]*")
VISIBILITIES = ("public", "protected", "private")
# npm's rules for package names (capitals only in old packages), and a version that is a semver
# range or a dist-tag: no `file:`, `link:`, git or URL dependency, which would make Twilio's
# build read a path or fetch code from somewhere else.
NPM_PACKAGE = re.compile(r"(@[a-z0-9~-][a-z0-9._~-]*/)?[A-Za-z0-9~-][A-Za-z0-9._~-]{0,213}")
NPM_VERSION = re.compile(r"[0-9A-Za-z.^~<>=*|+_ -]{1,256}")
MAX_CODE_BYTES = 25_000_000  # Twilio's limit for a public or protected asset
MAX_PRIVATE_ASSET_BYTES = 10_000_000  # and for a private one


def load_services(files: ProjectFiles) -> dict[str, ServiceSource]:
    """Every service under functions/ by folder name; a folder that fails leaves its name in `files.broken`."""
    services: dict[str, ServiceSource] = {}
    base = files.root / "functions"
    if not base.is_dir():
        return services
    for folder in sorted(base.iterdir()):
        if folder.name.startswith("."):
            continue
        if not folder.is_dir():
            files.warn(files.rel(folder), 1, "ignored: each service is a folder under functions/")
            continue
        service = _load_service(files, folder)
        if service is None:
            files.broken.add(f"service:{folder.name}")
        else:
            services[folder.name] = service
    seen: dict[str, str] = {}
    for name, service in services.items():
        if service.unique_name in seen:
            files.error(f"functions/{name}/service.yaml", 1,
                        f"unique_name {service.unique_name!r} is also used by service {seen[service.unique_name]!r}")
        seen[service.unique_name] = name
    return services


def _load_service(files: ProjectFiles, folder: Path) -> ServiceSource | None:
    """The service in `folder`, or None when anything in it is wrong (every problem recorded)."""
    name = folder.name
    spec_path = folder / "service.yaml"
    if not spec_path.is_file():
        files.error(files.rel(folder), 0, "service folder has no service.yaml")
        return None
    doc = files.read(spec_path)
    if doc is None:
        return None
    spec = files.check(ServiceSpec, doc)
    if spec is None:
        return None
    ok = True
    unique_name = name if spec.unique_name is None else spec.unique_name
    if not SERVICE_UNIQUE_NAME.fullmatch(unique_name):
        where = ("unique_name",) if spec.unique_name else ()
        hint = "" if spec.unique_name else " (the folder name; set unique_name in service.yaml)"
        files.problems.append(doc.lines.problem(
            where, f"unique_name {unique_name!r}{hint} must be 1-50 letters, digits or '-'"))
        ok = False
    variables: dict[str, str] = {}
    for key, value in spec.variables.items():
        if not NAME.fullmatch(key):
            files.problems.append(doc.lines.problem(("variables", key), f"variables: invalid variable name {key!r}"))
            ok = False
        if isinstance(value, dict):
            files.problems.append(
                doc.lines.problem(
                    ("variables", key),
                    f"variables.{key}: secrets belong in environment files (services.{name}.variables), "
                    "not in service.yaml",
                )
            )
            ok = False
            continue
        text = scalar_text(value)
        try:
            refs = [p for p in parse_template(text) if isinstance(p, EnvRef)]
        except ValueError as exc:
            files.problems.append(doc.lines.problem(("variables", key), f"variables.{key}: {exc}"))
            ok = False
            continue
        if has_url_password(text):  # here once, rather than once per environment that deploys it
            files.problems.append(doc.lines.problem(
                ("variables", key), f"variables.{key}: holds a URL with a password, which plans and logs "
                                    f"would print: move it to the environment files as {{secret: ...}}"))
            ok = False
            continue
        if refs:
            files.problems.append(doc.lines.problem(
                ("variables", key),
                f"variables.{key}: ${{env:{refs[0].name}}} is only allowed in environment files"))
            ok = False
        variables[key] = text
    for package, version in spec.dependencies.items():
        if not NPM_PACKAGE.fullmatch(package):
            files.problems.append(doc.lines.problem(("dependencies", package),
                                                    f"dependencies: invalid npm package name {package[:100]!r}"))
            ok = False
        elif not NPM_VERSION.fullmatch(version):
            files.problems.append(doc.lines.problem(
                ("dependencies", package),
                f"dependencies.{package}: {version[:100]!r} is not an npm version range or tag (e.g. ^1.7.0); "
                "file:, link:, git and URL dependencies cannot be deployed"))
            ok = False
    functions = _load_code(files, folder, "functions", "function")
    assets = _load_code(files, folder, "assets", "asset")
    if functions is None or assets is None:
        return None
    taken = {f.path: f for f in functions}
    for asset in assets:
        if asset.path in taken:
            files.error(files.rel(asset.file), 0,
                        f"path {asset.path} is also the path of {files.rel(taken[asset.path].file)}")
            ok = False
    if not functions and not assets:
        files.warn(files.rel(spec_path), 1, f"service {name!r} has no functions and no assets")
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


def _load_code(
    files: ProjectFiles, folder: Path, sub: str, kind: Literal["function", "asset"]
) -> list[CodeFile] | None:
    """The functions or assets under `folder/sub`, by path; None when any of them is wrong."""
    base = folder / sub
    out: list[CodeFile] = []
    if not base.is_dir():
        return out
    ok = True
    by_path: dict[str, CodeFile] = {}
    for path in sorted(p for p in base.rglob("*") if p.is_file() and visible(p.relative_to(base))):
        file = files.rel(path)
        rel = path.relative_to(base)
        if kind == "function" and path.suffix != ".js":
            files.warn(file, 1, "ignored: functions are .js files (put other files under assets/)")
            continue
        markers = [piece for piece in rel.name.split(".")[1:] if piece in VISIBILITIES]
        if len(markers) > 1:
            files.error(file, 1, f"the file name has {len(markers)} visibility markers ({', '.join(markers)}); "
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
            files.error(file, 1, f"invalid {kind} path {code_path!r}: use letters, digits and . _ ~ - /")
            ok = False
            continue
        if code_path in by_path:
            files.error(file, 1, f"{kind} path {code_path} is also the path of {files.rel(by_path[code_path].file)}")
            ok = False
            continue
        try:
            if not files.inside(path, file):
                ok = False
                continue
            content = read_limited(path, file, MAX_CODE_BYTES)
        except ParseError as exc:
            files.problems.append(exc.problem)
            ok = False
            continue
        if kind == "asset" and visibility == "private" and len(content) > MAX_PRIVATE_ASSET_BYTES:
            files.error(file, 1, f"a private asset may be at most {MAX_PRIVATE_ASSET_BYTES:,} bytes (Twilio's limit)")
            ok = False
            continue
        code = CodeFile(path=code_path, visibility=visibility, content=content, file=path, kind=kind)
        by_path[code_path] = code
        out.append(code)
    return out if ok else None
