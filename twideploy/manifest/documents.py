"""Reading YAML and JSON manifests into plain data plus a map of where each value came from.

Every later check reports `file:line`, so parsing keeps, for each path into the data
(a tuple of mapping keys and sequence indexes), the file and 1-based line it was written on.
"""

from __future__ import annotations

import bisect
import datetime
import json
import re
from dataclasses import dataclass, field
from json.decoder import scanstring
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from twideploy.errors import Problem

DataPath = tuple  # of str keys and int indexes


def format_path(path: DataPath, *, json_style: bool = False) -> str:
    """`states[3].transitions[0].next`, or with `json_style` `$.states[3].transitions[0].next`."""
    out = "$" if json_style else ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += f"[{json.dumps(str(part))}]"
    return out


@dataclass
class LineMap:
    """Where each path of a document was written: path -> (file, 1-based line).

    A path without its own entry (a key that is missing, say) is located at its nearest
    ancestor, so a "missing key" problem points at the mapping that lacks it.
    """

    file: str
    entries: dict[DataPath, tuple[str, int]] = field(default_factory=dict)

    def set(self, path: DataPath, line: int, file: str | None = None) -> None:
        self.entries[tuple(path)] = (file or self.file, line)

    def locate(self, path: DataPath) -> tuple[str, int]:
        path = tuple(path)
        while path:
            if path in self.entries:
                return self.entries[path]
            path = path[:-1]
        return self.entries.get((), (self.file, 1))

    def line(self, path: DataPath) -> int:
        return self.locate(path)[1]

    def problem(self, path: DataPath, message: str, severity: str = "error") -> Problem:
        file, line = self.locate(path)
        return Problem(file, line, message, severity)

    def subtree(self, prefix: DataPath) -> dict[DataPath, tuple[str, int]]:
        n = len(prefix)
        return {p: v for p, v in self.entries.items() if p[:n] == tuple(prefix)}


@dataclass
class Document:
    """One parsed manifest file: plain Python data and where each part of it was written."""

    file: str  # relative to the project root, with forward slashes
    data: Any
    lines: LineMap


class ParseError(Exception):
    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(str(problem))


# --------------------------------------------------------------------------- YAML


def _plain(node: Any, path: DataPath, lines: LineMap) -> Any:
    """Round-trip nodes -> plain dict/list/str/int/float/bool/None, recording lines."""
    if isinstance(node, CommentedMap):
        out: dict[Any, Any] = {}
        for key in node:
            try:
                line = node.lc.key(key)[0] + 1
            except (KeyError, TypeError, AttributeError):  # pragma: no cover - merged keys
                line = lines.line(path)
            plain_key = _scalar(key)
            lines.set(path + (plain_key,), line)
            out[plain_key] = _plain(node[key], path + (plain_key,), lines)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for i, item in enumerate(node):
            try:
                line = node.lc.item(i)[0] + 1
            except (KeyError, TypeError, AttributeError):  # pragma: no cover
                line = lines.line(path)
            lines.set(path + (i,), line)
            items.append(_plain(item, path + (i,), lines))
        return items
    return _scalar(node)


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (datetime.date, datetime.datetime)):
        # YAML reads 2024-01-01 as a date; manifests only ever want the text.
        return value.isoformat()
    return value


def parse_yaml(text: str, file: str) -> Document:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        node = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        what = exc.problem or exc.context or "invalid YAML"
        if "duplicate key" in what:
            what = re.sub(r' with value ".*$', "", what)
        raise ParseError(Problem(file, line, f"YAML syntax error: {what}")) from None
    except YAMLError as exc:  # pragma: no cover - unmarked errors are rare
        raise ParseError(Problem(file, 0, f"YAML syntax error: {exc}")) from None
    lines = LineMap(file)
    lines.set((), 1)
    return Document(file, _plain(node, (), lines), lines)


# --------------------------------------------------------------------------- JSON

_NUMBER = re.compile(r"(-?(?:0|[1-9]\d*))(\.\d+)?([eE][-+]?\d+)?")
_WS = re.compile(r"[ \t\n\r]*")


class _JsonLines:
    """A tiny JSON reader that records the line of every value.

    `json.loads` runs first and reports syntax errors with their position; this second pass
    only exists because the standard library does not say where each value was.
    """

    def __init__(self, text: str, lines: LineMap, file: str):
        self.text = text
        self.lines = lines
        self.file = file
        self.newlines = [i for i, c in enumerate(text) if c == "\n"]

    def line_at(self, pos: int) -> int:
        return bisect.bisect_left(self.newlines, pos) + 1

    def ws(self, pos: int) -> int:
        return _WS.match(self.text, pos).end()

    def value(self, pos: int, path: DataPath) -> tuple[Any, int]:
        pos = self.ws(pos)
        c = self.text[pos]
        if c == "{":
            out: dict[str, Any] = {}
            pos = self.ws(pos + 1)
            if self.text[pos] == "}":
                return out, pos + 1
            while True:
                pos = self.ws(pos)
                key_line = self.line_at(pos)
                key, pos = scanstring(self.text, pos + 1)
                if key in out:
                    raise ParseError(
                        Problem(self.file, key_line, f"JSON error: {format_path(path + (key,), json_style=True)}: duplicate key {key!r}")
                    )
                pos = self.ws(pos) + 1  # the colon
                self.lines.set(path + (key,), key_line)
                out[key], pos = self.value(pos, path + (key,))
                pos = self.ws(pos)
                if self.text[pos] == "}":
                    return out, pos + 1
                pos += 1  # the comma
        if c == "[":
            items: list[Any] = []
            pos = self.ws(pos + 1)
            if self.text[pos] == "]":
                return items, pos + 1
            while True:
                pos = self.ws(pos)
                self.lines.set(path + (len(items),), self.line_at(pos))
                item, pos = self.value(pos, path + (len(items),))
                items.append(item)
                pos = self.ws(pos)
                if self.text[pos] == "]":
                    return items, pos + 1
                pos += 1
        if c == '"':
            return scanstring(self.text, pos + 1)
        for word, val in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, pos):
                return val, pos + len(word)
        m = _NUMBER.match(self.text, pos)
        if m.group(2) or m.group(3):
            return float(m.group(0)), m.end()
        return int(m.group(0)), m.end()


def parse_json(text: str, file: str) -> Document:
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        before = text[: exc.pos].rstrip()
        if before.endswith(",") and text[exc.pos : exc.pos + 1] in ("]", "}"):
            # Python says "Expecting value"; the real mistake is the comma before it.
            line = before.count("\n") + 1
            closer = text[exc.pos]
            raise ParseError(Problem(file, line, f"JSON syntax error: trailing comma before '{closer}' "
                                                 "(JSON allows none)")) from None
        raise ParseError(Problem(file, exc.lineno, f"JSON syntax error: {exc.msg} (column {exc.colno})")) from None
    lines = LineMap(file)
    lines.set((), 1)
    reader = _JsonLines(text, lines, file)
    data, _ = reader.value(0, ())
    return Document(file, data, lines)


def read_document(path: Path, file: str) -> Document:
    """Parse `path` (YAML or, by extension, JSON); `file` is its name in problems."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ParseError(Problem(file, 1, f"cannot read file: {exc.strerror}")) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ParseError(Problem(file, line, "file is not valid UTF-8")) from None
    if path.suffix == ".json":
        return parse_json(text, file)
    return parse_yaml(text, file)
