"""Symbolic references and their compilation to (and from) what Studio stores.

Pure functions, no I/O: the engine fills an `AddressBook` from the live account, then
`compile_flow` turns a manifest's symbolic flow into the Studio definition for that account,
and `decompile_flow` does the reverse for `export` and drift. The two are exact inverses
(see tests/unit/test_references_roundtrip.py):

* `compile_flow(decompile_flow(x)) == x` for any Studio definition `x`;
* `decompile_flow(compile_flow(s)) == s` for a symbolic `s` whose references are all in the
  book and whose strings use vars consistently (a var's value never appears literally).

Security: `compile_flow` reveals Secret vars, because the compiled definition goes to
Twilio. Callers must never print, log or save a compiled definition that uses secret vars.
`decompile_flow` puts `${vars.x}` back for secret vars too, so a current secret value never
reaches a file. An *earlier* secret value (the var was rotated since the flow was written)
cannot be found by value, so secrets are also handled by position: the symbolic flow of the
manifests says which strings hold a secret var (`secret_strings`); `mask_secret_strings`
masks those strings in any definition (live or compiled) for display, and
`restore_secret_strings` puts the manifests' template back there in a decompiled flow.

Template syntax inside flow strings: `${vars.NAME}` is a var; `${$}` is a literal `$`
(so a literal `${` is written `${$}{`, which `decompile_flow` produces by itself); any other
`${...}` and all of Studio's Liquid `{{...}}` pass through untouched.
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from twideploy.manifest.templates import has_url_password
from twideploy.secrets import MASK, Secret, reveal

UNKNOWN = "(known after apply)"


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class FunctionRef:
    """A function by service folder and path: `crm/lookup` is FunctionRef("crm", "/lookup")."""

    service: str
    path: str

    def __str__(self) -> str:
        return f"{self.service}{self.path}"

    @classmethod
    def parse(cls, text: str) -> FunctionRef:
        service, sep, rest = text.strip().partition("/")
        if not service or not sep or not rest or rest.startswith("/") or rest.endswith("/"):
            raise ValueError(f"invalid function reference {text!r}: expected SERVICE/PATH, e.g. crm/lookup")
        if any(c.isspace() for c in text.strip()):
            raise ValueError(f"invalid function reference {text!r}: must not contain spaces")
        return cls(service, "/" + rest)


@dataclass(frozen=True)
class FlowRef:
    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class UrlTarget:
    url: str

    def __str__(self) -> str:
        return self.url


Target: TypeAlias = FunctionRef | FlowRef | UrlTarget

_FLOW_NAME = re.compile(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*")


def parse_target(text: str) -> Target:
    """`flow:NAME`, `function:SERVICE/PATH` or an `https://` URL (without a password, which
    every plan would print; the message does not repeat the URL either)."""
    if not isinstance(text, str):
        raise ValueError(f"a target must be a string, not {type(text).__name__}")
    if has_url_password(text):
        raise ValueError("invalid target: a URL with a user name and password would be printed in plans and "
                         "logs; twideploy does not deploy credentials in URLs")
    if text.startswith("flow:"):
        name = text[len("flow:") :].strip()
        if not _FLOW_NAME.fullmatch(name):
            raise ValueError(f"invalid flow target {text!r}: expected flow:NAME, e.g. flow:ivr-main")
        return FlowRef(name)
    if text.startswith("function:"):
        return FunctionRef.parse(text[len("function:") :])
    if text.startswith("https://") and len(text) > len("https://") and not any(c.isspace() for c in text):
        return UrlTarget(text)
    if text.startswith("http://"):
        raise ValueError(f"invalid target {text!r}: URLs must use https://")
    raise ValueError(
        f"invalid target {text!r}: expected flow:NAME, function:SERVICE/PATH or an https:// URL"
    )


def format_target(t: Target) -> str:
    if isinstance(t, FlowRef):
        return f"flow:{t.name}"
    if isinstance(t, FunctionRef):
        return f"function:{t}"
    return t.url


# --------------------------------------------------------------------------- addresses


@dataclass(frozen=True)
class FunctionAddress:
    service_sid: str
    environment_sid: str
    function_sid: str
    url: str


@dataclass(frozen=True)
class FlowAddress:
    sid: str
    webhook_url: str


UNKNOWN_FUNCTION = FunctionAddress(UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN)
UNKNOWN_FLOW = FlowAddress(UNKNOWN, UNKNOWN)


def _function_ref(ref: FunctionRef | str) -> FunctionRef:
    return ref if isinstance(ref, FunctionRef) else FunctionRef.parse(ref)


@dataclass
class AddressBook:
    """Where each symbolic name lives in one account; filled by the engine from live state.

    Apply completes it from several threads (a flow or a service's functions entered as soon
    as they are live): entries go in through `enter_flow` / `enter_functions`, and lookups
    that walk the entries take a snapshot under the same lock."""

    functions: dict[FunctionRef, FunctionAddress] = field(default_factory=dict)
    flows: dict[str, FlowAddress] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def copy(self) -> AddressBook:
        """A book of its own to complete (the addresses themselves are immutable)."""
        with self._lock:
            return AddressBook(dict(self.functions), dict(self.flows))

    def enter_flow(self, name: str, address: FlowAddress) -> None:
        with self._lock:
            self.flows[name] = address

    def enter_functions(self, entries: Mapping[FunctionRef, FunctionAddress]) -> None:
        with self._lock:
            self.functions.update(entries)

    def function(self, ref: FunctionRef | str) -> FunctionAddress:
        return self.functions.get(_function_ref(ref), UNKNOWN_FUNCTION)

    def flow(self, name: str) -> FlowAddress:
        return self.flows.get(name, UNKNOWN_FLOW)

    def url_for(self, target: Target) -> str:
        if isinstance(target, FlowRef):
            return self.flow(target.name).webhook_url
        if isinstance(target, FunctionRef):
            return self.function(target).url
        return target.url

    def function_by_sid(self, sid: str) -> FunctionRef | None:
        return next((ref for ref, address in self._functions() if address.function_sid == sid), None)

    def flow_by_sid(self, sid: str) -> str | None:
        return next((name for name, address in self._flows() if address.sid == sid), None)

    def target_for_url(self, url: str) -> Target:
        if url != UNKNOWN:
            for name, flow in self._flows():
                if flow.webhook_url == url:
                    return FlowRef(name)
            for ref, function in self._functions():
                if function.url == url:
                    return ref
        return UrlTarget(url)

    def _flows(self) -> list[tuple[str, FlowAddress]]:
        with self._lock:
            return list(self.flows.items())

    def _functions(self) -> list[tuple[FunctionRef, FunctionAddress]]:
        with self._lock:
            return list(self.functions.items())


# --------------------------------------------------------------------------- templates

_TEMPLATE = re.compile(r"\$\{(\$|vars\.([A-Za-z_][A-Za-z0-9_]*))\}")
MIN_VAR_LENGTH = 6

# State keys that are structure, never content: vars are neither substituted nor inferred there.
_STRUCTURAL_STATE_KEYS = frozenset({"name", "type", "next", "event"})
FUNCTION_KEYS = ("service_sid", "environment_sid", "function_sid", "url")


def substitute_vars(text: str, vars: Mapping[str, str | Secret]) -> str:
    """Replace `${vars.x}` by its (revealed) value and `${$}` by `$`; leave all else alone."""

    def repl(m: re.Match[str]) -> str:
        if m.group(1) == "$":
            return "$"
        name = m.group(2)
        if name not in vars:
            raise ValueError(f"undefined var ${{vars.{name}}}")
        return reveal(vars[name])

    return _TEMPLATE.sub(repl, text)


def _escape(text: str) -> str:
    return text.replace("${", "${$}{")


def infer_vars(text: str, vars: Mapping[str, str | Secret]) -> str:
    """Inverse of `substitute_vars`: put `${vars.x}` where a var's value appears.

    Non-secret vars count from MIN_VAR_LENGTH characters (short values such as "1" would
    match everywhere); secret vars of any length, since a secret value must never be written
    out literally. Longest value first at each position.
    """
    candidates = sorted(
        ((revealed, name) for name, value in vars.items()
         if (revealed := reveal(value)) and (isinstance(value, Secret) or len(revealed) >= MIN_VAR_LENGTH)),
        key=lambda vn: (-len(vn[0]), vn[1]),
    )
    if not candidates and "${" not in text:
        return text
    out: list[str] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        for value, name in candidates:
            if text.startswith(value, i):
                out.append(_escape("".join(literal)))
                literal = []
                out.append(f"${{vars.{name}}}")
                i += len(value)
                break
        else:
            literal.append(text[i])
            i += 1
    out.append(_escape("".join(literal)))
    return "".join(out)


def map_strings(value: Any, fn) -> Any:
    """`value` (JSON-like data) with `fn` applied to every string in it."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [map_strings(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: map_strings(v, fn) for k, v in value.items()}
    return value


def _map_content(definition: dict, fn) -> dict:
    """Apply `fn` to every content string: all but state names, types, events, `next`."""
    out: dict[str, Any] = {}
    for key, value in definition.items():
        if key == "states" and isinstance(value, list):
            states = []
            for state in value:
                if not isinstance(state, dict):
                    states.append(copy.deepcopy(state))
                    continue
                new_state: dict[str, Any] = {}
                for skey, svalue in state.items():
                    if skey in _STRUCTURAL_STATE_KEYS:
                        new_state[skey] = copy.deepcopy(svalue)
                    elif skey == "transitions" and isinstance(svalue, list):
                        new_state[skey] = [
                            {tk: (copy.deepcopy(tv) if tk in _STRUCTURAL_STATE_KEYS else map_strings(tv, fn))
                             for tk, tv in t.items()} if isinstance(t, dict) else copy.deepcopy(t)
                            for t in svalue
                        ]
                    else:
                        new_state[skey] = map_strings(svalue, fn)
                states.append(new_state)
            out[key] = states
        elif key == "initial_state":
            out[key] = copy.deepcopy(value)
        else:
            out[key] = map_strings(value, fn)
    return out


def _trigger_name(definition: dict) -> str | None:
    for state in definition.get("states") or []:
        if isinstance(state, dict) and state.get("type") == "trigger":
            return state.get("name")
    return None


# --------------------------------------------------------------------------- compile


def _replace_key(props: dict, old: str, new_items: dict) -> dict:
    """`props` with `old` replaced, in place, by `new_items` (keeps key order readable)."""
    out: dict[str, Any] = {}
    for k, v in props.items():
        if k == old:
            out.update(new_items)
        elif k not in new_items:
            out[k] = v
    return out


def substitute_flow_vars(definition: dict, vars: Mapping[str, str | Secret]) -> dict:
    """A copy of `definition` with `${vars.x}` substituted in every content string (secrets revealed!)."""
    return _map_content(definition, lambda s: substitute_vars(s, vars))


def compile_flow(definition: dict, *, vars: Mapping[str, str | Secret], book: AddressBook) -> dict:
    """Symbolic flow -> the Studio definition that `POST /v2/Flows` takes for this account.

    run-function `function: svc/path` becomes service_sid, environment_sid, function_sid and
    url; run-subflow `flow: name` becomes flow_sid; `${vars.x}` is substituted in every
    content string (secrets revealed!); Liquid is untouched; initial_state defaults to the
    trigger. Unknown references compile to UNKNOWN placeholders, as a plan shows them.
    """
    result = substitute_flow_vars(definition, vars)
    for state in result.get("states") or []:
        if not isinstance(state, dict) or not isinstance(state.get("properties"), dict):
            continue
        props = state["properties"]
        if state.get("type") == "run-function" and isinstance(props.get("function"), str):
            address = book.function(FunctionRef.parse(props["function"]))
            state["properties"] = _replace_key(props, "function", {
                "service_sid": address.service_sid,
                "environment_sid": address.environment_sid,
                "function_sid": address.function_sid,
                "url": address.url,
            })
        elif state.get("type") == "run-subflow" and isinstance(props.get("flow"), str):
            state["properties"] = _replace_key(props, "flow", {"flow_sid": book.flow(props["flow"]).sid})
    if not result.get("initial_state"):
        trigger = _trigger_name(result)
        if trigger is not None:
            result["initial_state"] = trigger
    return result


def decompile_flow(definition: dict, *, vars: Mapping[str, str | Secret], book: AddressBook) -> dict:
    """Studio definition -> symbolic flow: the inverse of `compile_flow`.

    A run-function whose four address fields are exactly a known function's becomes
    `function: svc/path`; a run-subflow whose flow_sid is known becomes `flow: name`; unknown
    SIDs stay raw. Strings containing a var's value (a secret's, or a value of >= 6 chars)
    get `${vars.x}`.
    """
    symbolic = copy.deepcopy(definition)
    rewritten: dict[int, tuple[str, str]] = {}  # state index -> (property, reference)
    for index, state in enumerate(symbolic.get("states") or []):
        if not isinstance(state, dict) or not isinstance(state.get("properties"), dict):
            continue
        props = state["properties"]
        if state.get("type") == "run-function" and "function" not in props:
            sid = props.get("function_sid")
            ref = book.function_by_sid(sid) if isinstance(sid, str) else None
            if ref is not None and all(props.get(k) == getattr(book.functions[ref], k) for k in FUNCTION_KEYS):
                new: dict[str, Any] = {}
                for k, v in props.items():
                    if k == "service_sid":
                        new["function"] = str(ref)
                    elif k not in FUNCTION_KEYS:
                        new[k] = v
                state["properties"] = new
                rewritten[index] = ("function", str(ref))
        elif state.get("type") == "run-subflow" and "flow" not in props:
            sid = props.get("flow_sid")
            name = book.flow_by_sid(sid) if isinstance(sid, str) else None
            if name is not None:
                state["properties"] = _replace_key(props, "flow_sid", {"flow": name})
                rewritten[index] = ("flow", name)
    result = _map_content(symbolic, lambda s: infer_vars(s, vars))
    for index, (key, reference) in rewritten.items():
        result["states"][index]["properties"][key] = reference  # names, not content: never a var
    return result


# --------------------------------------------------------------------------- secrets by position

Place = tuple  # ("description",) or ("states", STATE_NAME, "properties", "say") or (..., "parameters", 0, "value")


def _strings(value: Any, place: Place):
    if isinstance(value, str):
        yield place, value
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, place + (i,))
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, place + (k,))


def _content_strings(definition: dict):
    """Every content string (those `_map_content` maps) with its place; states by name."""
    for key, value in definition.items():
        if key == "initial_state":
            continue
        if key != "states" or not isinstance(value, list):
            yield from _strings(value, (key,))
            continue
        for state in value:
            if not isinstance(state, dict):
                continue
            for skey, svalue in state.items():
                if skey in _STRUCTURAL_STATE_KEYS:
                    continue
                if skey == "transitions" and isinstance(svalue, list):
                    for i, t in enumerate(svalue):
                        for tk, tv in (t.items() if isinstance(t, dict) else ()):
                            if tk not in _STRUCTURAL_STATE_KEYS:
                                yield from _strings(tv, ("states", state.get("name"), skey, i, tk))
                else:
                    yield from _strings(svalue, ("states", state.get("name"), skey))


def _holder(definition: dict, place: Place) -> Any:
    """The dict or list that holds `place`'s last part in `definition`, or None when it has no such place."""
    node: Any = definition
    for depth, part in enumerate(place[:-1]):
        if depth == 1 and place[0] == "states":
            node = next((s for s in node if isinstance(s, dict) and s.get("name") == part), None) \
                if isinstance(node, list) else None
        elif isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return None
    return node if isinstance(node, (dict, list)) else None


def _string_at(holder: Any, key: Any) -> str | None:
    if isinstance(holder, dict):
        value = holder.get(key)
    elif isinstance(holder, list) and isinstance(key, int) and key < len(holder):
        value = holder[key]
    else:
        return None
    return value if isinstance(value, str) else None


def describe_place(place: Place) -> str:
    """`widget say_pin: properties.say`, `widget x: transitions[0].conditions[0].value`, `description`."""
    rest = place[2:] if place[0] == "states" else place
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in rest).lstrip(".")
    return f"widget {place[1]}: {path}" if place[0] == "states" else path


def var_names(symbolic: dict) -> set[str]:
    """The vars a symbolic flow uses."""
    return {m.group(2) for _, text in _content_strings(symbolic) for m in _TEMPLATE.finditer(text) if m.group(2)}


def contains_any(definition: dict, values: list[str]) -> bool:
    """Whether any of `values` appears in a content string of `definition`."""
    return any(value in text for _, text in _content_strings(definition) for value in values)


def secret_strings(symbolic: dict, vars: Mapping[str, str | Secret]) -> dict[Place, str]:
    """Where a symbolic flow puts a secret var: place -> the template string there."""
    return {place: text for place, text in _content_strings(symbolic)
            if any(m.group(2) and isinstance(vars.get(m.group(2)), Secret) for m in _TEMPLATE.finditer(text))}


def _pattern(template: str, vars: Mapping[str, str | Secret]) -> re.Pattern[str]:
    """What `template` compiles to, with any text where a secret var goes."""
    parts, end = [], 0
    for m in _TEMPLATE.finditer(template):
        parts.append(re.escape(template[end:m.start()]))
        value = "$" if m.group(1) == "$" else vars.get(m.group(2), m.group(0))
        parts.append("(.*?)" if isinstance(value, Secret) else re.escape(value))
        end = m.end()
    parts.append(re.escape(template[end:]))
    return re.compile("".join(parts), re.DOTALL)


def mask_secret_strings(definition: dict, symbolic: dict, vars: Mapping[str, str | Secret]) -> dict:
    """`definition` (live, or compiled from `symbolic`) fit to show: each string where `symbolic`
    puts a secret var reads as the template with `***` for the secret when the rest of the
    string is what the template says, else `***` as a whole (where the secret is in it, an
    earlier value included, cannot be told). `definition` itself when `symbolic` uses no secret.
    """
    places = secret_strings(symbolic, vars)
    if not places:
        return definition
    masked_vars = {name: MASK if isinstance(value, Secret) else value for name, value in vars.items()}
    shown = copy.deepcopy(definition)
    for place, template in places.items():
        holder = _holder(shown, place)
        text = _string_at(holder, place[-1])
        if text is not None:
            holder[place[-1]] = substitute_vars(template, masked_vars) \
                if _pattern(template, vars).fullmatch(text) else MASK
    return shown


def restore_secret_strings(symbolic: dict, live: dict, like: dict, vars: Mapping[str, str | Secret]) -> list[str]:
    """Give `symbolic` (decompiled from `live`) the template of the manifests' flow `like` wherever
    `like` puts a secret var: the live string there holds a secret's value, perhaps an earlier
    one that `decompile_flow` cannot recognise, and must not be written out. Changes `symbolic`
    in place; returns the places where the live string differs from the template elsewhere too
    (so `symbolic` now says there what the manifests say, not what the live flow says).
    """
    differing = []
    for place, template in secret_strings(like, vars).items():
        text = _string_at(_holder(live, place), place[-1])
        holder = _holder(symbolic, place)
        if text is None or _string_at(holder, place[-1]) is None:
            continue
        if not _pattern(template, vars).fullmatch(text):
            differing.append(describe_place(place))
        holder[place[-1]] = template
    return differing
