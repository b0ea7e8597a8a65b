"""`${env:NAME}`, `${vars.NAME}` and `${$}` inside manifest strings.

One small resolver per kind of reference, in the spirit of Sceptre's resolvers: parsing
here, values in `environment_builder.py` (environment files) and `references.py` (flows).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

EXPRESSION = re.compile(r"\$\{([^}]*)\}")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
URL_PASSWORD = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:]*:[^\s/?#@]*@")


@dataclass(frozen=True)
class EnvRef:
    name: str


@dataclass(frozen=True)
class VarRef:
    name: str


Part = str | EnvRef | VarRef


def scalar_text(value: Any) -> str:
    """A YAML scalar as the template text it was written as: `true`, not Python's `True`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def unterminated(text: str) -> bool:
    """Whether `text` has a `${` that no `}` closes: `${vars.greeting` is a typo, not a literal
    (which is written `${$}{`), and deploying it as text would hide it."""
    return "${" in EXPRESSION.sub("", text)


def has_url_password(text: str) -> bool:
    """Whether `text` holds a URL with a password (`https://user:secret@host`): plans, logs and
    the Studio console show such a value as is, so it belongs in a secret."""
    return URL_PASSWORD.search(text) is not None


def parse_template(text: str) -> list[Part]:
    """Split `text` into literal strings and references; ValueError for an unknown or unterminated `${...}`."""
    if unterminated(text):
        raise ValueError("unterminated '${': close it with '}' (a literal '${' is written '${$}{')")
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
