"""The file formats, as pydantic models: they check each manifest file and give its JSON Schema.

These models describe what is *written*; the objects the engine works with (Project,
Environment, ...) are built from them by `loader.load_project`. All are strict (a string is not a
number, `"false"` is not a boolean) and forbid unknown keys, so a typo is an error, not a
silently ignored setting. The exceptions are where Studio keeps keys of its own: `flags`,
and transitions (`validate` warns about a transition key it does not know).
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from typing import Annotated, Any, Literal, TypeVar, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema
from pydantic.config import JsonValue
from pydantic_core import ErrorDetails

from twideploy.errors import Problem
from twideploy.manifest.documents import DataPath, LineMap, format_path
from twideploy.manifest.references import parse_target
from twideploy.manifest.widgets import WIDGETS, load_schema


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# --------------------------------------------------------------------------- shared value types

_SECRET_SCHEMA = {
    "type": "object",
    "properties": {"secret": {"type": "string", "description": "The value; masked (***) in every output."}},
    "required": ["secret"],
    "additionalProperties": False,
}


def _check_value(value: Any) -> Any:
    if isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, dict):
        extra = sorted(str(k) for k in value if k != "secret")
        if extra:
            raise ValueError(f"a secret is written {{secret: VALUE}}; unexpected key {extra[0]!r}")
        if "secret" not in value:
            raise ValueError("a secret is written {secret: VALUE}; 'secret' is missing")
        if not isinstance(value["secret"], (str, int, float)) or isinstance(value["secret"], bool):
            raise ValueError("a secret's value must be a string")
        return value
    if value is None:
        raise ValueError("a value is required (write \"\" for an empty string)")
    raise ValueError(f"expected a string, number, boolean or {{secret: VALUE}}, got {_type_name(value)}")


Value = Annotated[
    Any,
    AfterValidator(_check_value),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}, _SECRET_SCHEMA]}),
]


def _check_target(value: str) -> str:
    parse_target(value)
    return value


TargetText = Annotated[
    str,
    AfterValidator(_check_target),
    WithJsonSchema({
        "type": "string",
        "pattern": "^(flow:|function:|https://)",
        "description": "flow:NAME, function:SERVICE/PATH or an https:// URL",
    }),
]


def _check_display_name(value: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("must not contain control characters (newlines, tabs, ...)")
    return value


# Friendly names: written as given (an empty one would not fall back to the default silently),
# within the limits Twilio documents for numbers (64) and Serverless services (255); Studio
# documents none for flows.
FlowFriendlyName = Annotated[str, Field(min_length=1), AfterValidator(_check_display_name)]
ServiceFriendlyName = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_check_display_name)]
NumberFriendlyName = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_check_display_name)]

STATE_NAME = re.compile(r"[A-Za-z0-9_]+")
MAX_STATE_NAME = 255


def _check_state_name(value: str) -> str:
    """Studio's rule for widget names; they end up in Liquid (`{{widgets.NAME}}`) and in paths."""
    if not STATE_NAME.fullmatch(value) or len(value) > MAX_STATE_NAME:
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise ValueError(f"invalid state name {shown!r}: use letters, digits and _ (Studio's rule for widget "
                         f"names), at most {MAX_STATE_NAME} characters")
    return value


StateName = Annotated[
    str,
    Field(min_length=1, json_schema_extra={"pattern": f"^{STATE_NAME.pattern}$", "maxLength": MAX_STATE_NAME}),
    AfterValidator(_check_state_name),
]


# --------------------------------------------------------------------------- twideploy.yaml


class ProjectSpec(_Spec):
    """twideploy.yaml: the project itself."""

    name: str = Field(min_length=1, description="The project's name.")
    default_environment: str = Field(
        min_length=1, description="The environment commands use when --env is not given."
    )


# --------------------------------------------------------------------------- environments/<env>.yaml


class AccountSpec(_Spec):
    """The Twilio account of a `target: twilio` environment; values from ${env:NAME}."""

    sid: str | None = Field(None, description="Account SID (AC...), e.g. ${env:TWILIO_ACCOUNT_SID}.")
    api_key: str | None = Field(None, description="API key SID (SK...); with api_secret.")
    api_secret: str | None = Field(None, description="API key secret; from ${env:NAME} only.")
    auth_token: str | None = Field(None, description="Auth token, instead of api_key + api_secret.")


class EmulatorSpec(_Spec):
    account_sid: str | None = Field(None, description="The account SID the emulator pretends to be.")


class ServiceEnvSpec(_Spec):
    """How one service (a folder under functions/) is deployed to this environment."""

    environment: str = Field("production", description="Serverless environment unique_name.")
    domain_suffix: str | None = Field(None, description="Serverless environment domain suffix.")
    variables: dict[str, Value] = Field(
        default_factory=dict, description="Environment variables; override service.yaml defaults."
    )


class BindingSpec(_Spec):
    """Which flow, function or URL answers a phone number."""

    voice: TargetText | None = None
    voice_fallback: TargetText | None = None
    sms: TargetText | None = None
    sms_fallback: TargetText | None = None
    status_callback: TargetText | None = None
    friendly_name: NumberFriendlyName | None = None


class PreviewSpec(_Spec):
    """How `twideploy preview` previews a pull request on this environment."""

    testers: list[str] = Field(
        default_factory=list,
        description="Who reaches the preview: E.164 numbers or client:IDENTITY; ${env:NAME} allowed.")


class EnvironmentSpec(_Spec):
    """environments/<name>.yaml: one deployment target."""

    target: Literal["twilio", "emulator"] | None = Field(
        None, description="twilio (a real account) or emulator (the local emulator)."
    )
    extends: str | None = Field(None, description="Another environment file to deep-merge this one onto.")
    abstract: bool = Field(False, description="Only a base for others; not deployable itself.")
    emulator: EmulatorSpec | None = None
    account: AccountSpec | None = None
    vars: dict[str, Value] = Field(default_factory=dict, description="Values usable as ${vars.NAME}.")
    services: dict[str, ServiceEnvSpec] = Field(default_factory=dict)
    flows: list[str] = Field(default_factory=list, description="The flows this environment deploys.")
    numbers: dict[str, BindingSpec] = Field(default_factory=dict, description="Bindings by E.164 number.")
    prune: bool = Field(False, description="Default for --prune: delete unmanaged resources.")
    state: Literal["local", "account"] = Field(
        "local", description="Where deploy journals, the lock and content hashes live: local (.twideploy/ of this "
                             "checkout) or account (a Twilio Sync service of the account, shared by every machine).")
    preview: PreviewSpec | None = Field(None, description="Defaults of `twideploy preview` (its testers).")


# --------------------------------------------------------------------------- functions/<svc>/service.yaml


class ServiceSpec(_Spec):
    """functions/<service>/service.yaml: one Serverless service."""

    unique_name: str | None = Field(None, description="Default: the folder name.")
    friendly_name: ServiceFriendlyName | None = Field(None, description="Default: the unique_name.")
    runtime: Literal["node18", "node20", "node22"] = "node22"
    dependencies: dict[str, str] = Field(default_factory=dict, description="npm package -> version.")
    ui_editable: bool = False
    variables: dict[str, Value] = Field(default_factory=dict, description="Defaults for every environment.")


# --------------------------------------------------------------------------- flows/<name>.yaml|json

# A definition may name its schema; Twilio's flow-definition schema allows only its own id.
STUDIO_SCHEMA_ID = load_schema("flow-definition.json")["$id"]


class FlagsSpec(BaseModel):
    """Studio's flow flags; Twilio's flow-definition schema requires allow_concurrent_calls."""

    model_config = ConfigDict(extra="allow", strict=True)
    allow_concurrent_calls: bool


class ConditionSpec(_Spec):
    friendly_name: str | None = None
    arguments: list[str]
    type: str
    value: str | None = None


class TransitionSpec(BaseModel):
    """A transition. Other keys are allowed because Studio keeps them (exports carry `name`);
    `validate` warns about keys it does not know."""

    model_config = ConfigDict(extra="allow", strict=True)
    event: str = Field(min_length=1)
    next: str | None = Field(None, description="The next state; absent: the execution ends.")
    conditions: list[ConditionSpec] | None = None
    name: str | None = Field(None, description="A label Studio keeps with the transition.")


#: The widget types, as a JSON list for the schema (spelt as a comprehension: `sorted()`'s list[str] is not one).
_WIDGET_TYPES: list[JsonValue] = [kind for kind in sorted(WIDGETS)]


class StateSpec(_Spec):
    name: StateName
    type: str = Field(min_length=1, json_schema_extra={"enum": _WIDGET_TYPES})
    properties: dict[str, Any] = Field(default_factory=dict)
    transitions: list[TransitionSpec] = Field(default_factory=list)


class FlowSpec(_Spec):
    """flows/<name>.yaml|.json: one Studio flow, with symbolic references."""

    friendly_name: FlowFriendlyName | None = Field(
        None, description="Default: the flow's name (its path under flows/)."
    )
    # The literal is Twilio's schema id, read from its file at import: mypy cannot see its value.
    schema_: Literal[STUDIO_SCHEMA_ID] | None = Field(  # type: ignore[valid-type]
        None, alias="$schema", description="Twilio's flow-definition schema."
    )
    description: str | None = None
    status: Literal["published", "draft"] | None = Field(None, description="Default: published.")
    initial_state: str | None = Field(None, description="Default: the trigger state.")
    flags: FlagsSpec | None = None
    states: list[StateSpec] = Field(min_length=1)


KINDS: dict[str, type[BaseModel]] = {
    "project": ProjectSpec,
    "environment": EnvironmentSpec,
    "flow": FlowSpec,
    "service": ServiceSpec,
}

SCHEMA_BASE_URL = "https://twideploy.dev/schemas"


def json_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of one kind of manifest file, for editors (yaml-language-server)."""
    model = KINDS[kind]
    schema = model.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_BASE_URL}/{kind}.schema.json",
        **schema,
    }


# --------------------------------------------------------------------------- errors -> problems


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0] if len(args) == 1 else annotation
            if len(args) != 1:
                return annotation
        else:
            return annotation


def _model_at(model: type[BaseModel], path: DataPath) -> type[BaseModel] | None:
    current: Any = model
    steps = list(path)
    while steps:
        current = _unwrap(current)
        step = steps.pop(0)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(step) if isinstance(step, str) else None
            if field is None:
                return None
            current = field.annotation
        elif typing.get_origin(current) in (dict, list):
            current = typing.get_args(current)[-1]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _resolve(data: Any, loc: tuple) -> tuple[DataPath, list[Any]]:
    """Split a pydantic `loc` into the path that exists in `data` and the leftover parts."""
    path: list[Any] = []
    leftover: list[Any] = []
    current = data
    for part in loc:
        if isinstance(current, dict) and part in current and not leftover:
            path.append(part)
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current) and not leftover:
            path.append(part)
            current = current[part]
        else:
            leftover.append(part)
    return tuple(path), leftover


Spec = TypeVar("Spec", bound=BaseModel)


def schema_problems(
    model: type[Spec], data: Any, lines: LineMap, *, json_paths: bool = False
) -> tuple[Spec | None, list[Problem]]:
    """Validate `data` against `model`; problems located by file:line, with readable messages."""
    if data is None:
        return None, [lines.problem((), "the file is empty")]
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        errors = exc.errors()
    problems: list[Problem] = []
    seen: set[tuple[DataPath, str]] = set()
    for error in errors:
        path, leftover = _resolve(data, tuple(error["loc"]))
        kind = error["type"]
        value = error.get("input")
        if kind == "extra_forbidden":
            key = path[-1] if path else (leftover[-1] if leftover else "?")
            parent = _model_at(model, path[:-1])
            allowed = sorted(f.alias or n for n, f in parent.model_fields.items()) if parent else []
            message = f"unknown key {key!r}"
            close = difflib.get_close_matches(str(key), allowed, n=1)
            if close:
                message += f" (did you mean {close[0]!r}?)"
            elif allowed:
                message += f" (allowed: {', '.join(allowed)})"
            where = path[:-1]
        elif kind == "missing":
            field = next((p for p in reversed(leftover) if isinstance(p, str)), "?")
            message = f"missing required key {field!r}"
            where = path
        elif "[key]" in leftover:
            message = f"key {value!r} must be a string"
            if isinstance(value, int) and len(path) >= 2 and path[-2] == "numbers":
                message = (
                    f'phone number {value} must be a quoted string, e.g. "+{value}" (YAML reads +{value} as a number)'
                )
            where = path
        else:
            where = path
            message = _message(kind, error, value)
        text = f"{format_path(where, json_style=json_paths)}: {message}" if where or json_paths else message
        if json_paths and not where:
            text = f"$: {message}"
        if (where, text) in seen:
            continue
        seen.add((where, text))
        problems.append(lines.problem(where if kind != "extra_forbidden" else path, text))
    return None, problems


def _message(kind: str, error: ErrorDetails, value: Any) -> str:
    got = f", got {_type_name(value)}"
    if kind == "string_type":
        return "expected a string" + got + (" (quote it)" if isinstance(value, (int, float, bool)) else "")
    if kind == "bool_type":
        return "expected true or false" + got
    if kind in ("int_type", "float_type"):
        return "expected a number" + got
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "expected a mapping" + got
    if kind == "list_type":
        return "expected a list" + got
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"expected {expected}, got {value!r}"
    if kind == "value_error":
        return re.sub(r"^Value error, ", "", error["msg"])
    if kind in ("too_short", "string_too_short"):
        return "must not be empty"
    if kind == "string_too_long":
        return f"must be at most {error.get('ctx', {}).get('max_length')} characters"
    return error["msg"]
