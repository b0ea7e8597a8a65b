"""The project directory as every loader sees it: which files may be read, and what went wrong.

Every manifest, function and asset is read through `ProjectFiles`, and only if it resolves
inside the project directory: a function that is a symlink to /etc/passwd, or an asset linked
to /proc/self/environ, would otherwise be published. Parsing itself is bounded in `documents`.

Problems are collected here, never raised, so `validate` can list every one of them; names
whose files failed to load are recorded in `broken`, so later checks do not add "unknown
flow" to a flow whose file has a syntax error.
"""

from __future__ import annotations

from pathlib import Path

from twideploy.errors import Problem
from twideploy.manifest.documents import Document, LineMap, ParseError, read_document
from twideploy.manifest.models import Spec, schema_problems


def visible(path: Path) -> bool:
    """Whether no part of `path` is hidden (`.git/`, an editor's `.swp`): those are not manifests."""
    return not any(part.startswith(".") for part in path.parts)


class ProjectFiles:
    """The project root, the problems found so far, each file's line map and the broken names."""

    def __init__(self, root: Path):
        self.root = root
        self.problems: list[Problem] = []
        self.sources: dict[str, LineMap] = {}
        self.broken: set[str] = set()

    def rel(self, path: Path) -> str:
        """`path` as problems name it: relative to the root, with forward slashes."""
        return path.relative_to(self.root).as_posix()

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
        """The parsed manifest at `path`, its lines kept in `sources`; None (and a problem) if unreadable."""
        file = self.rel(path)
        if not self.inside(path, file):
            return None
        try:
            doc = read_document(path, file)
        except ParseError as exc:
            self.problems.append(exc.problem)
            return None
        self.sources[file] = doc.lines
        return doc

    def check(self, model: type[Spec], doc: Document) -> Spec | None:
        """`doc` as a `model` spec, or None with its schema problems recorded."""
        spec, problems = schema_problems(model, doc.data, doc.lines, json_paths=doc.file.endswith(".json"))
        self.problems.extend(problems)
        return spec
