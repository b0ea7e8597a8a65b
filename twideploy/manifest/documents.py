"""Reading YAML and JSON manifests into plain data plus a map of where each value came from.

Every later check reports `file:line`, so parsing keeps, for each path into the data
(a tuple of mapping keys and sequence indexes), the file and 1-based line it was written on.

Manifests come from pull requests, so reading is bounded before anything else looks at the
data: a file is read only if it is a regular file of at most MAX_FILE_BYTES; more than
MAX_VALUES keys and values (ruamel spends ~60 microseconds and 1 KB on each), nesting deeper
than MAX_DEPTH, YAML aliases that expand to more than MAX_ALIAS_VALUES values, YAML tags
beyond the core schema's, numbers that are not finite and control characters are errors at
their line. Later code (pydantic, deepcopy, the flow compiler) recurses once per level, so
without the depth limit a 5,000-deep `[[[...` would end in a RecursionError.
"""

from __future__ import annotations

import bisect
import datetime
import json
import math
import re
import stat
import warnings
from dataclasses import dataclass, field
from json.decoder import scanstring  # type: ignore[attr-defined]  # the json module's own string reader; not in typeshed
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.composer import Composer
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import MappingStartEvent, SequenceStartEvent
from ruamel.yaml.reader import ReaderError

from twideploy.errors import Problem

DataPath = tuple  # of str keys and int indexes

MAX_FILE_BYTES = 2 * 1024 * 1024  # twice a big 1,000-widget flow (Studio's maximum); YAML parses at ~100 KB/s
MAX_DEPTH = 64  # the deepest real manifest nests about 10 levels
MAX_VALUES = 200_000  # keys and values per file: the examples have 37 a widget, Studio allows 1,000 widgets
MAX_ALIAS_VALUES = 10_000  # values that YAML aliases may add to one file (stops "billion laughs")


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


class _Refused(MarkedYAMLError):
    """Valid YAML that twideploy does not read (too deep, a foreign tag, an impossible value)."""


# The core schema's tags: what a plain or quoted scalar resolves to, plus `<<` merge keys.
_CORE_TAGS = frozenset(f"tag:yaml.org,2002:{name}" for name in
                       ("str", "int", "float", "bool", "null", "map", "seq", "timestamp", "merge"))


class _BoundedComposer(Composer):
    """ruamel's composer recurses once per nesting level, and scans the text as it goes: refuse
    to go deeper than MAX_DEPTH or further than MAX_VALUES nodes."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self.warn_double_anchors = False  # legal YAML; the warning would print a dozen lines
        self.depth = 0
        self.nodes = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        nested = isinstance(event, (MappingStartEvent, SequenceStartEvent))  # as JSON counts: brackets
        self.depth += nested
        self.nodes += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _Refused(None, None, f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
            if self.nodes > MAX_VALUES:
                raise _Refused(None, None, f"more than {MAX_VALUES:,} keys and values in one file",
                               event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= nested


class _StrictConstructor(RoundTripConstructor):
    """Core-schema values only, each an error at its line when it cannot be a value:
    `!!python/...`, `!!binary`, `!!set` and custom tags; `2024-02-30`; an int of 5,000 digits
    (Python refuses to convert it); `.inf`, `.nan` and `1e999` (JSON, hence Twilio, has no such
    numbers)."""

    def construct_non_recursive_object(self, node: Any, tag: str | None = None) -> Any:
        if (tag or node.tag) not in _CORE_TAGS:
            shown = (tag or node.tag).replace("tag:yaml.org,2002:", "!!")
            raise _Refused(None, None, f"unsupported tag {shown}", node.start_mark)
        try:
            data = super().construct_non_recursive_object(node, tag)
        except (ValueError, OverflowError) as exc:
            why = str(exc).split(";")[0]  # not Python's advice on sys.set_int_max_str_digits
            raise _Refused(None, None, f"invalid value {str(node.value)[:40]!r}: {why} (quote it if it is text)",
                           node.start_mark) from None
        if isinstance(data, float) and not math.isfinite(data):
            raise _Refused(None, None, f"{node.value!r} is not a finite number", node.start_mark)
        return data


class _Plain:
    """Round-trip nodes -> plain dict/list/str/int/float/bool/None, recording lines.

    An alias is the same node object as its anchor, so ruamel parses an alias bomb in no time;
    expanding it here is what would take minutes and gigabytes. Every value copied through an
    alias (met again after its first visit) counts against MAX_ALIAS_VALUES, and aliases
    nested in aliases count against MAX_DEPTH like any nesting.
    """

    def __init__(self, lines: LineMap):
        self.lines = lines
        self.seen: set[int] = set()
        self.copied = 0

    def convert(self, node: Any, path: DataPath, alias: DataPath | None = None) -> Any:
        """`alias`: where the alias being expanded was written, if `node` is a copy."""
        if isinstance(node, (CommentedMap, CommentedSeq)):
            if len(path) >= MAX_DEPTH:
                raise ParseError(self.lines.problem(path, f"YAML: nested more than {MAX_DEPTH} levels deep "
                                                          "(through aliases)"))
            if alias is None and id(node) in self.seen:
                alias = path
            self.seen.add(id(node))
        if alias is not None:
            self.copied += 1
            if self.copied > MAX_ALIAS_VALUES:
                raise ParseError(self.lines.problem(alias, f"YAML: aliases expand to more than "
                                                           f"{MAX_ALIAS_VALUES:,} values; write the values out"))
        if isinstance(node, CommentedMap):
            out: dict[Any, Any] = {}
            for key in node:
                try:
                    line = node.lc.key(key)[0] + 1
                except (KeyError, TypeError, AttributeError):  # pragma: no cover - merged keys
                    line = self.lines.line(path)
                plain_key = _scalar(key)
                self.lines.set(path + (plain_key,), line)
                out[plain_key] = self.convert(node[key], path + (plain_key,), alias)
            return out
        if isinstance(node, CommentedSeq):
            items = []
            for i, item in enumerate(node):
                try:
                    line = node.lc.item(i)[0] + 1
                except (KeyError, TypeError, AttributeError):  # pragma: no cover
                    line = self.lines.line(path)
                self.lines.set(path + (i,), line)
                items.append(self.convert(item, path + (i,), alias))
            return items
        return _scalar(node)


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, TaggedScalar):  # `!!str 12`, the only tag that gets this far
        return str(value.value)
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
    yaml.Composer = _BoundedComposer
    yaml.Constructor = _StrictConstructor
    try:
        with warnings.catch_warnings():  # ruamel warns about YAML 1.1 floats in many lines
            warnings.simplefilter("ignore")
            node = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        what = exc.problem or exc.context or "invalid YAML"
        if "duplicate key" in what:
            what = re.sub(r' with value ".*$', "", what)
        prefix = "YAML" if isinstance(exc, _Refused) else "YAML syntax error"
        raise ParseError(Problem(file, line, f"{prefix}: {what}")) from None
    except ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise ParseError(Problem(file, line, f"YAML syntax error: control character U+{exc.character:04X} "
                                             "is not allowed")) from None
    except YAMLError as exc:  # pragma: no cover - unmarked errors are rare
        raise ParseError(Problem(file, 0, f"YAML syntax error: {exc}")) from None
    lines = LineMap(file)
    lines.set((), 1)
    return Document(file, _Plain(lines).convert(node, ()), lines)


# --------------------------------------------------------------------------- JSON

_NUMBER = re.compile(r"(-?(?:0|[1-9]\d*))(\.\d+)?([eE][-+]?\d+)?")
_WS = re.compile(r"[ \t\n\r]*")


class _JsonLines:
    """A tiny JSON reader that records the line of every value.

    `json.loads` runs first and reports syntax errors with their position; this second pass
    only exists because the standard library does not say where each value was.
    """

    def __init__(self, text: str, lines: LineMap, file: str, max_values: int):
        self.text = text
        self.lines = lines
        self.file = file
        self.newlines = [i for i, c in enumerate(text) if c == "\n"]
        self.values = 0
        self.max_values = max_values

    def line_at(self, pos: int) -> int:
        return bisect.bisect_left(self.newlines, pos) + 1

    def ws(self, pos: int) -> int:
        match = _WS.match(self.text, pos)
        assert match is not None  # `[ \t\n\r]*` matches everywhere, if only the empty string
        return match.end()

    def value(self, pos: int, path: DataPath) -> tuple[Any, int]:
        pos = self.ws(pos)
        c = self.text[pos]
        self.values += 1 + (isinstance(path[-1], str) if path else 0)  # the value, and its key
        if self.values > self.max_values:
            raise ParseError(Problem(self.file, self.line_at(pos), f"JSON: more than {self.max_values:,} keys "
                                                                   "and values in one file"))
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
                    where = format_path(path + (key,), json_style=True)
                    raise ParseError(Problem(self.file, key_line, f"JSON error: {where}: duplicate key {key!r}"))
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
        if m is None:  # NaN, Infinity, -Infinity: Python reads them, JSON (and Twilio) does not
            bad = re.match(r"-?[A-Za-z]+", self.text[pos:pos + 20])
            raise ParseError(Problem(self.file, self.line_at(pos),
                                     f"JSON syntax error: {bad.group(0) if bad else c!r} is not a JSON value"))
        if m.group(2) or m.group(3):
            number = float(m.group(0))
            if not math.isfinite(number):
                raise ParseError(Problem(self.file, self.line_at(pos),
                                         f"JSON error: {m.group(0)[:40]} is too large for a number"))
            return number, m.end()
        return int(m.group(0)), m.end()


_JSON_NESTING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')  # strings (skipped) and brackets


def _check_json_depth(text: str, file: str, max_depth: int) -> None:
    """`json.loads` recurses once per level: refuse more than `max_depth` levels before calling it."""
    depth = 0
    for m in _JSON_NESTING.finditer(text):
        c = m.group(0)
        if c in "[{":
            depth += 1
            if depth > max_depth:
                line = text.count("\n", 0, m.start()) + 1
                raise ParseError(Problem(file, line, f"JSON: nested more than {max_depth} levels deep"))
        elif c in "]}":
            depth -= 1


def parse_json(text: str, file: str, *, max_depth: int = MAX_DEPTH, max_values: int | None = None) -> Document:
    _check_json_depth(text, file, max_depth)
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
    except ValueError as exc:  # an integer too long for Python to convert, the only other failure
        digits = re.search(r"\d{1000,}", text)
        line = text.count("\n", 0, digits.start()) + 1 if digits else 1
        raise ParseError(Problem(file, line, f"JSON error: {str(exc).split(';')[0]}")) from None
    lines = LineMap(file)
    lines.set((), 1)
    reader = _JsonLines(text, lines, file, MAX_VALUES if max_values is None else max_values)
    data, _ = reader.value(0, ())
    return Document(file, data, lines)


def read_limited(path: Path, file: str, limit: int) -> bytes:
    """The bytes of `path`, which must be a regular file of at most `limit` bytes.

    A FIFO would block the read forever and /dev/zero would never end, so anything but a
    regular file is refused before it is opened, and no more than `limit` + 1 bytes are read
    even if the file grows meanwhile.
    """
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise ParseError(Problem(file, 1, "not a regular file"))
        with path.open("rb") as handle:
            raw = handle.read(limit + 1)
    except OSError as exc:
        raise ParseError(Problem(file, 1, f"cannot read file: {exc.strerror}")) from None
    if len(raw) > limit:
        raise ParseError(Problem(file, 1, f"larger than {limit:,} bytes, the limit for this kind of file"))
    return raw


def read_document(path: Path, file: str) -> Document:
    """Parse `path` (YAML or, by extension, JSON); `file` is its name in problems."""
    raw = read_limited(path, file, MAX_FILE_BYTES)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ParseError(Problem(file, line, "file is not valid UTF-8")) from None
    if path.suffix == ".json":
        return parse_json(text, file)
    return parse_yaml(text, file)
