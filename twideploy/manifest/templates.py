"""`${env:NAME}`, `${vars.NAME}` and `${$}` inside manifest strings.

One small resolver per kind of reference, in the spirit of Sceptre's resolvers: parsing
here, values in `loader.py` (environment files) and `references.py` (flows).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EXPRESSION = re.compile(r"\$\{([^}]*)\}")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class EnvRef:
    name: str


@dataclass(frozen=True)
class VarRef:
    name: str


Part = str | EnvRef | VarRef


def parse_template(text: str) -> list[Part]:
    """Split `text` into literal strings and references; ValueError for an unknown `${...}`."""
    parts: list[Part] = []
    pos = 0
    for m in EXPRESSION.finditer(text):
        if m.start() > pos:
            parts.append(text[pos : m.start()])
        inner = m.group(1).strip()
        if inner == "$":
            parts.append("$")
        elif inner.startswith("env:"):
            name = inner[4:].strip()
            if not NAME.fullmatch(name):
                raise ValueError(f"invalid environment variable name in {m.group(0)!r}")
            parts.append(EnvRef(name))
        elif inner.startswith("vars."):
            name = inner[5:].strip()
            if not NAME.fullmatch(name):
                raise ValueError(f"invalid var name in {m.group(0)!r}")
            parts.append(VarRef(name))
        else:
            raise ValueError(
                f"unknown reference {m.group(0)!r}: use ${{vars.NAME}}, ${{env:NAME}} or ${{$}} for a literal $"
            )
        pos = m.end()
    if pos < len(text):
        parts.append(text[pos:])
    return parts


def references(text: str) -> list[EnvRef | VarRef]:
    """The references in `text`, ignoring malformed ones (reported elsewhere)."""
    try:
        return [p for p in parse_template(text) if not isinstance(p, str)]
    except ValueError:
        return []
