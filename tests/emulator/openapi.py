"""Checks emulator responses against Twilio's OpenAPI specs (shared/twilio-oai).

OpenAPI 3.0 schemas become JSON Schema: `$ref`s into components/schemas are inlined and
`nullable: true` becomes a union with null. The check is strict where the specs are loose:
every property a schema lists must be present and no other may appear (Twilio's responses
carry exactly their schema's fields), and date, RFC 2822 date and phone-number formats are
checked. Error responses (statuses an operation does not list) must have Twilio's error shape.
"""

from __future__ import annotations

import email.utils
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jsonschema

from twideploy.emulator.sync import PATH_PREFIX as SYNC_PREFIX

#: Each spec, and the path prefix its paths have on the emulator (Sync's collide with Serverless's).
SPEC_PREFIXES = {"twilio_studio_v2.json": "", "twilio_serverless_v1.json": "", "twilio_api_v2010.json": "",
                 "twilio_sync_v1.json": SYNC_PREFIX}
SPEC_FILES = tuple(SPEC_PREFIXES)
REPO_ROOT = Path(__file__).resolve().parents[2]

# The upload host's version creation is in no spec: its answer is the version resource.
SUBSTITUTES = {
    ("POST", "/v1/Services/{ServiceSid}/Functions/{FunctionSid}/Versions"):
        ("GET", "/v1/Services/{ServiceSid}/Functions/{FunctionSid}/Versions/{Sid}", "200"),
    ("POST", "/v1/Services/{ServiceSid}/Assets/{AssetSid}/Versions"):
        ("GET", "/v1/Services/{ServiceSid}/Assets/{AssetSid}/Versions/{Sid}", "200"),
}
SUBSTITUTE_STATUS = "201"

ERROR_SCHEMA = {
    "type": "object",
    "required": ["code", "message", "more_info", "status"],
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string", "minLength": 1},
        "more_info": {"type": "string", "pattern": r"^https://www\.twilio\.com/docs/errors/\d+$"},
        "status": {"type": "integer", "minimum": 400},
        "details": {"type": "object"},
    },
    "additionalProperties": False,
}

FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("date-time")
def _iso_8601(value: object) -> bool:
    return not isinstance(value, str) or re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", value) is not None


@FORMATS.checks("date-time-rfc-2822")
def _rfc_2822(value: object) -> bool:
    if not isinstance(value, str):
        return True
    pattern = r"[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d \+0000"
    return re.fullmatch(pattern, value) is not None and email.utils.parsedate_to_datetime(value) is not None


@FORMATS.checks("phone-number")
def _e164(value: object) -> bool:
    return not isinstance(value, str) or re.fullmatch(r"\+[1-9]\d{1,14}", value) is not None


def specs_dir() -> Path | None:
    candidates = [os.environ.get("TWILIO_OAI_DIR"), REPO_ROOT.parent / "shared" / "twilio-oai"]
    for candidate in candidates:
        if candidate and all((Path(candidate) / name).is_file() for name in SPEC_FILES):
            return Path(candidate)
    return None


def to_json_schema(node: Any, components: dict[str, Any]) -> Any:
    """An OpenAPI 3.0 schema as a strict JSON Schema (see the module docstring)."""
    if isinstance(node, list):
        return [to_json_schema(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].removeprefix("#/components/schemas/")
        resolved = to_json_schema(components[name], components)
        return _nullable(resolved) if node.get("nullable") else resolved
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: to_json_schema(sub, components) for name, sub in value.items()}
        elif key in ("items", "allOf", "anyOf", "oneOf", "not", "additionalProperties"):
            out[key] = to_json_schema(value, components)
        elif key in ("type", "enum", "format", "pattern", "minLength", "maxLength", "minimum", "maximum",
                     "required"):
            out[key] = value
    if "properties" in out:
        out["required"] = sorted(out["properties"])
        out["additionalProperties"] = False
    return _nullable(out) if node.get("nullable") else out


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    schema = dict(schema)
    if "type" in schema:
        schema["type"] = [schema["type"], "null"]
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    return schema


@dataclass
class Operation:
    method: str
    path: str  # the spec's path template
    schemas: dict[str, dict[str, Any]]  # status -> JSON Schema of the body
    regex: re.Pattern[str] = field(repr=False)


class OpenApiSpecs:
    """Finds the operation of a request and validates its response."""

    def __init__(self, directory: Path):
        self.operations: dict[tuple[str, str], Operation] = {}
        for name in SPEC_FILES:
            spec = json.loads((directory / name).read_text())
            components = spec["components"]["schemas"]
            for path, item in spec["paths"].items():
                for method, op in item.items():
                    if method not in ("get", "post", "delete"):
                        continue
                    schemas = {
                        status: to_json_schema(resp["content"]["application/json"]["schema"], components)
                        for status, resp in op["responses"].items()
                        if "application/json" in resp.get("content", {})
                    }
                    self._add(method.upper(), SPEC_PREFIXES[name] + path, schemas)
        for (method, path), (src_method, src_path, src_status) in SUBSTITUTES.items():
            source = self.operations[(src_method, src_path)]
            self._add(method, path, {SUBSTITUTE_STATUS: source.schemas[src_status]})

    def _add(self, method: str, path: str, schemas: dict[str, dict[str, Any]]) -> None:
        regex = re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$")
        self.operations[(method, path)] = Operation(method, path, schemas, regex)

    def operation(self, method: str, url: str) -> Operation:
        path = urlparse(url).path
        matches = [op for op in self.operations.values() if op.method == method and op.regex.match(path)]
        if not matches:
            raise AssertionError(f"{method} {path} is no operation of the Twilio specs")
        return min(matches, key=lambda op: op.path.count("{"))  # literal segments win

    def check(self, method: str, url: str, status: int, text: str) -> tuple[str, str, int]:
        """Raise AssertionError unless the body fits its operation's schema; (method, path, status)."""
        op = self.operation(method, url)
        if status == 204:
            assert text == "", f"{method} {op.path}: 204 with a body"
        else:
            body = json.loads(text)
            schema = op.schemas.get(str(status))
            if schema is None and status < 400:
                raise AssertionError(f"{method} {op.path}: status {status} is not in the spec")
            try:
                jsonschema.Draft7Validator(schema or ERROR_SCHEMA, format_checker=FORMATS).validate(body)
            except jsonschema.ValidationError as error:
                raise AssertionError(f"{method} {op.path} -> {status}: {error.message} at "
                                     f"{'/'.join(map(str, error.absolute_path))}") from None
        return method, op.path, status
