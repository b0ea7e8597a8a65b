"""Loading `environments/`: one file per environment, and `extends` chains merged into one document.

An environment file may extend another (`extends: base`), which may be `abstract: true` (a
base only, never deployed). Chains are resolved here, each file once, with cycles, missing
parents and chains longer than MAX_EXTENDS reported at their `extends:` line; the merged
document keeps, for every value, the file and line it came from, so a problem in an
inherited value points into the base file. Each merged document is then built into an
Environment by `environment_builder`.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from twideploy.manifest.documents import Document, LineMap
from twideploy.manifest.environment_builder import build_environment
from twideploy.manifest.files import ProjectFiles
from twideploy.manifest.models import EnvironmentSpec, schema_problems
from twideploy.manifest.project import Environment, ServiceSource

ENVIRONMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
MAX_EXTENDS = 16  # environment files in one `extends` chain


def load_environments(files: ProjectFiles,
                      services: dict[str, ServiceSource]) -> tuple[dict[str, Environment], set[str]]:
    """The deployable environments by name, and the names of the abstract ones (bases to extend).

    An environment whose file, chain or values fail leaves its name in `files.broken`.
    """
    base = files.root / "environments"
    docs: dict[str, Document] = {}
    if base.is_dir():
        for path in sorted(base.iterdir()):
            if path.name.startswith("."):
                continue
            file = files.rel(path)
            if path.is_dir() or path.suffix not in (".yaml", ".yml"):
                files.warn(file, 0 if path.is_dir() else 1, "ignored: environment files are environments/<name>.yaml")
                continue
            name = path.stem
            if not ENVIRONMENT_NAME.fullmatch(name):
                files.error(file, 1, f"invalid environment name {name!r}: use letters, digits, '_' and '-'")
                continue
            if name in docs:
                files.error(file, 1, f"environment {name!r} is defined twice")
                continue
            doc = files.read(path)
            if doc is None or files.check(EnvironmentSpec, doc) is None:
                files.broken.add(f"env:{name}")
                continue
            docs[name] = doc

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
            files.problems.append(doc.lines.problem(("extends",), f"extends: cycle {cycle}"))
            result = None
        elif len(chain) + 1 >= MAX_EXTENDS:
            if not too_long:  # once, not again for the rest of the chain
                files.problems.append(doc.lines.problem(
                    ("extends",), f"extends: more than {MAX_EXTENDS} environment files in one chain"))
            too_long.append(name)
            result = None
        elif parent not in docs:
            if f"env:{parent}" not in files.broken:
                known = ", ".join(sorted(docs)) or "none"
                files.problems.append(doc.lines.problem(
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
            files.broken.add(f"env:{name}")
            continue
        data, lines = result
        if doc.data.get("abstract"):
            abstract.add(name)
            continue
        spec, problems = schema_problems(EnvironmentSpec, data, lines)
        if spec is None:  # pragma: no cover - merging valid files gives a valid file
            files.problems.extend(problems)
            files.broken.add(f"env:{name}")
            continue
        env = build_environment(files, name, doc, spec, data, lines, services)
        if env is None:
            files.broken.add(f"env:{name}")
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
