"""Answers to outbound HTTP requests in flow tests, shared by Studio's HTTP Request widget and
the Functions that Run Function executes: no request leaves the machine.

A mock names a method (or "*") and a URL pattern, a glob or `re:<regex>`, matched against the
whole URL with its query string. Mocks are tried in order; the first that matches answers.
Patterns are matched against the URL as sent (`%2B15551234567`) and as decoded
(`+15551234567`), so a scenario can be written with either spelling.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

REGEX_PREFIX = "re:"


@dataclass(frozen=True)
class HttpMock:
    """A canned answer to the requests whose method and URL match."""

    method: str  # "GET", "POST", ... or "*"
    url: str  # a glob ("https://crm.example.com/customers*") or "re:<regex>"; query string included
    status: int = 200
    body: Any = None  # dict/list -> JSON; str -> text
    headers: dict[str, str] = field(default_factory=dict)
    where: str = ""  # "file:line" of the mock in its scenario, for messages

    def body_text(self) -> str:
        """The body as sent on the wire."""
        if self.body is None:
            return ""
        return self.body if isinstance(self.body, str) else json.dumps(self.body)

    def response_headers(self) -> dict[str, str]:
        """The mock's headers, with a Content-Type for its body when it gives none."""
        if any(name.lower() == "content-type" for name in self.headers) or self.body is None:
            return dict(self.headers)
        kind = "text/plain" if isinstance(self.body, str) else "application/json"
        return {"Content-Type": kind, **self.headers}


@dataclass(frozen=True)
class HttpCall:
    """A request a Function or an HTTP Request widget made."""

    method: str
    url: str
    body: str | None
    mock: HttpMock | None  # the mock that answered, None = unmocked


def url_pattern_problem(pattern: str) -> str | None:
    """Why `pattern` cannot be a mock's URL (an invalid regex), or None: for scenario loaders."""
    if not pattern.startswith(REGEX_PREFIX):
        return None
    try:
        re.compile(pattern[len(REGEX_PREFIX):])
    except re.error as exc:
        return f"invalid regular expression {pattern!r}: {exc}"
    return None


def matches(mock: HttpMock, method: str, url: str) -> bool:
    if mock.method != "*" and mock.method.upper() != method.upper():
        return False
    spellings = {url, unquote(url)}
    if mock.url.startswith(REGEX_PREFIX):
        regex = re.compile(mock.url[len(REGEX_PREFIX):])
        return any(regex.fullmatch(spelling) for spelling in spellings)
    return any(fnmatch.fnmatchcase(spelling, mock.url) for spelling in spellings)


def find_mock(mocks: Sequence[HttpMock], method: str, url: str) -> HttpMock | None:
    """The first of `mocks` that answers `method url`, or None."""
    return next((mock for mock in mocks if matches(mock, method, url)), None)
