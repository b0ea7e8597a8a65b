"""compile_flow and decompile_flow are inverses (hypothesis property tests).

1. compile_flow(decompile_flow(x)) == x for any Studio definition x, vars and book;
2. decompile_flow(compile_flow(s)) == s for any symbolic s whose references are all in the
   book and whose strings use (non-secret) vars consistently.
"""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twideploy.manifest.references import (
    AddressBook,
    FlowAddress,
    FunctionAddress,
    FunctionRef,
    _escape,
    compile_flow,
    decompile_flow,
)
from twideploy.secrets import Secret

SETTINGS = settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HEX = "0123456789abcdef"


def sid(prefix: str, n: int) -> str:
    return prefix + format(n, "032x")


# --------------------------------------------------------------------------- books


@st.composite
def books(draw, unique: bool = False) -> AddressBook:
    n_functions = draw(st.integers(0, 4))
    functions = {}
    for i in range(n_functions):
        ref = FunctionRef(draw(st.sampled_from(["crm", "billing"])), f"/f{i}")
        j = i if unique else draw(st.integers(0, 2))
        functions[ref] = FunctionAddress(sid("ZS", j), sid("ZE", j), sid("ZH", j), f"https://svc-{j}.twil.io{ref.path}")
    flows = {}
    for i in range(draw(st.integers(0, 3))):
        j = i if unique else draw(st.integers(0, 2))
        flows[f"flow{i}"] = FlowAddress(
            sid("FW", j), f"https://webhooks.twilio.com/v1/Accounts/AC/Flows/{sid('FW', j)}"
        )
    return AddressBook(functions, flows)


# --------------------------------------------------------------------------- 1: any Studio definition

TRICKY = ["${", "$", "{", "}", "${vars.greeting}", "${vars.nope}", "${$}", "${$}{", "{{widgets.a.b}}",
          "{% if x %}", "$${", "Welcome to Acme", "https://crm.example.com", "Acme"]
VAR_VALUES = ["Welcome to Acme", "https://crm.example.com", "Acme", "${vars.x}", "abc${$}{def", "$$$$$$",
              "crm.example", "hello world"]


def texts(extra: list[str]):
    piece = st.one_of(st.text(alphabet="ab ${}.x", max_size=6), st.sampled_from(extra))
    return st.lists(piece, max_size=5).map("".join)


@st.composite
def varsets(draw):
    names = draw(st.lists(st.sampled_from(["greeting", "url", "brand", "x", "token"]), unique=True, max_size=5))
    out = {}
    for name in names:
        value = draw(st.one_of(st.sampled_from(VAR_VALUES), st.text(alphabet="ab$ {}", max_size=9)))
        out[name] = Secret(value) if draw(st.booleans()) and name == "token" else value
    return out


def values(strings):
    return st.recursive(
        st.one_of(strings, st.integers(-5, 5), st.booleans(), st.none()),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.sampled_from(["key", "value", "say", "url", "body", "x"]), inner, max_size=3),
        ),
        max_leaves=8,
    )


@st.composite
def studio_definitions(draw, book: AddressBook, strings):
    n = draw(st.integers(1, 5))
    names = [f"s{i}" for i in range(n)]
    states = []
    for i, name in enumerate(names):
        kind = (
            "trigger" if i == 0 else draw(st.sampled_from(["run-function", "run-subflow", "say-play", "send-message"]))
        )
        props = draw(st.dictionaries(st.sampled_from(["say", "body", "parameters", "offset", "flow_revision"]),
                                     STUDIO_VALUES, max_size=3))
        if kind == "run-function":
            choice = draw(st.integers(0, 2))
            if choice == 0 and book.functions:
                address = draw(st.sampled_from(list(book.functions.values())))
                props.update(service_sid=address.service_sid, environment_sid=address.environment_sid,
                             function_sid=address.function_sid, url=address.url)
                if draw(st.booleans()):  # one field off: must stay raw
                    props[draw(st.sampled_from(["service_sid", "environment_sid", "url"]))] = draw(strings)
            elif choice == 1:
                props.update(function_sid=draw(st.sampled_from([sid("ZH", 0), sid("ZH", 9)])), url=draw(strings))
        if kind == "run-subflow":
            if book.flows and draw(st.booleans()):
                props["flow_sid"] = draw(st.sampled_from([a.sid for a in book.flows.values()]))
            else:
                props["flow_sid"] = draw(st.sampled_from([sid("FW", 7), "FWnot-a-sid"]))
        transitions = draw(STUDIO_TRANSITIONS[n])
        states.append({"name": name, "type": kind, "properties": props, "transitions": transitions})
    definition = {"description": draw(strings), "initial_state": draw(st.sampled_from(names)),
                  "flags": {"allow_concurrent_calls": draw(st.booleans())}, "states": states}
    return definition


STUDIO_STRINGS = texts(TRICKY + VAR_VALUES)
STUDIO_VALUES = values(STUDIO_STRINGS)
STUDIO_TRANSITIONS = {
    n: st.lists(
        st.fixed_dictionaries(
            {
                "event": st.sampled_from(["next", "success", "match"]),
                "next": st.sampled_from([f"s{i}" for i in range(n)]),
            },
            optional={
                "conditions": st.lists(
                    st.fixed_dictionaries(
                        {
                            "arguments": st.lists(STUDIO_STRINGS, max_size=2),
                            "type": st.just("equal_to"),
                            "value": STUDIO_STRINGS,
                        }
                    ),
                    max_size=2,
                )
            },
        ),
        max_size=3,
    )
    for n in range(1, 6)
}


@SETTINGS
@given(data=st.data())
def test_compile_of_decompile_is_identity(data):
    book = data.draw(books())
    vars = data.draw(varsets())
    definition = data.draw(studio_definitions(book, STUDIO_STRINGS))
    original = copy.deepcopy(definition)
    symbolic = decompile_flow(definition, vars=vars, book=book)
    assert definition == original, "decompile_flow must not mutate its input"
    assert compile_flow(symbolic, vars=vars, book=book) == definition


# --------------------------------------------------------------------------- 2: symbolic definitions

WORDS = ["acme", "stage", "greeting", "crmurl", "prodx"]
LITERAL_ALPHABET = "ab {}$.|%"  # anything but the '<' '>' that delimit var values


VAR_NAMES = [f"v_{w}" for w in WORDS]


@st.composite
def symbolic_text(draw, var_names: list[str] = VAR_NAMES) -> str:
    """A canonical symbolic string: escaped literals and ${vars.x} tokens, never two literals in a row."""
    out = []
    literal_last = False
    for _ in range(draw(st.integers(0, 4))):
        if var_names and draw(st.booleans()):
            out.append("${vars." + draw(st.sampled_from(var_names)) + "}")
            literal_last = False
        elif not literal_last:
            out.append(_escape(draw(st.text(alphabet=LITERAL_ALPHABET, min_size=1, max_size=6))))
            literal_last = True
    return "".join(out)


SYMBOLIC_STRINGS = symbolic_text()
SYMBOLIC_VALUES = values(SYMBOLIC_STRINGS)
SYMBOLIC_TRANSITIONS = {
    n: st.lists(st.fixed_dictionaries({"event": st.sampled_from(["next", "match"]),
                                       "next": st.sampled_from([f"s{i}" for i in range(n)])}), max_size=2)
    for n in range(1, 6)
}


@st.composite
def symbolic_definitions(draw, book: AddressBook):
    strings = SYMBOLIC_STRINGS
    n = draw(st.integers(1, 5))
    names = [f"s{i}" for i in range(n)]
    states = []
    for i, name in enumerate(names):
        kind = "trigger" if i == 0 else draw(st.sampled_from(["run-function", "run-subflow", "say-play"]))
        props = draw(
            st.dictionaries(st.sampled_from(["say", "parameters", "offset", "loop"]), SYMBOLIC_VALUES, max_size=3)
        )
        if kind == "run-function":
            if book.functions and draw(st.booleans()):
                props["function"] = str(draw(st.sampled_from(list(book.functions))))
            else:  # raw, unknown to the book: stays raw both ways
                props.update(service_sid=sid("ZS", 99), environment_sid=sid("ZE", 99), function_sid=sid("ZH", 99),
                             url="https://other.twil.io/x")
        if kind == "run-subflow":
            if book.flows and draw(st.booleans()):
                props["flow"] = draw(st.sampled_from(list(book.flows)))
            else:
                props["flow_sid"] = sid("FW", 99)
            props["flow_revision"] = "LatestPublished"
        transitions = draw(SYMBOLIC_TRANSITIONS[n])
        states.append({"name": name, "type": kind, "properties": props, "transitions": transitions})
    return {"description": draw(strings), "initial_state": names[0],
            "flags": {"allow_concurrent_calls": True}, "states": states}


@SETTINGS
@given(data=st.data())
def test_decompile_of_compile_is_identity(data):
    book = data.draw(books(unique=True))
    vars: dict[str, str | Secret] = {f"v_{w}": f"<{w}>" for w in WORDS}
    vars["hidden"] = Secret("<hidden-secret>")  # s does not use it (its value never appears literally)
    symbolic = data.draw(symbolic_definitions(book))
    compiled = compile_flow(symbolic, vars=vars, book=book)
    assert "${vars." not in str(compiled)
    assert decompile_flow(compiled, vars=vars, book=book) == symbolic


# --------------------------------------------------------------------------- concrete cases


def test_examples_of_both_directions():
    ref = FunctionRef("crm", "/lookup")
    address = FunctionAddress(sid("ZS", 1), sid("ZE", 1), sid("ZH", 1), "https://crm-1234-stage.twil.io/lookup")
    book = AddressBook({ref: address}, {"subflows/lookup": FlowAddress(sid("FW", 2), "https://webhooks/x")})
    vars = {"base": "https://crm.example.com", "token": Secret("super-secret-token")}
    symbolic = {
        "description": "d",
        "initial_state": "Trigger",
        "flags": {"allow_concurrent_calls": True},
        "states": [
            {
                "name": "Trigger",
                "type": "trigger",
                "properties": {},
                "transitions": [{"event": "incomingCall", "next": "f"}],
            },
            {"name": "f", "type": "run-function", "properties": {"function": "crm/lookup"}, "transitions": []},
            {
                "name": "sub",
                "type": "run-subflow",
                "properties": {"flow": "subflows/lookup", "flow_revision": "LatestPublished"},
                "transitions": [],
            },
            {
                "name": "http",
                "type": "make-http-request",
                "properties": {"url": "${vars.base}/orders?x={{widgets.f.parsed.id}}", "body": "${vars.token}"},
                "transitions": [],
            },
        ],
    }
    compiled = compile_flow(symbolic, vars=vars, book=book)
    assert compiled["states"][1]["properties"] == {
        "service_sid": sid("ZS", 1), "environment_sid": sid("ZE", 1), "function_sid": sid("ZH", 1),
        "url": "https://crm-1234-stage.twil.io/lookup"}
    assert compiled["states"][2]["properties"]["flow_sid"] == sid("FW", 2)
    assert compiled["states"][3]["properties"]["url"] == "https://crm.example.com/orders?x={{widgets.f.parsed.id}}"
    assert compiled["states"][3]["properties"]["body"] == "super-secret-token"  # revealed: goes to Twilio
    back = decompile_flow(compiled, vars=vars, book=book)
    assert back["states"][:3] == symbolic["states"][:3]
    assert back["states"][3]["properties"]["url"] == "${vars.base}/orders?x={{widgets.f.parsed.id}}"
    assert back["states"][3]["properties"]["body"] == "${vars.token}"  # a secret is never written out


def test_unknown_references_compile_to_placeholders_and_initial_state_is_filled():
    from twideploy.manifest.references import UNKNOWN

    symbolic = {"states": [
        {"name": "T", "type": "trigger", "properties": {}, "transitions": []},
        {"name": "f", "type": "run-function", "properties": {"function": "crm/x"}, "transitions": []},
        {"name": "s", "type": "run-subflow", "properties": {"flow": "other"}, "transitions": []},
    ]}
    compiled = compile_flow(symbolic, vars={}, book=AddressBook())
    assert compiled["initial_state"] == "T"
    assert compiled["states"][1]["properties"]["url"] == UNKNOWN
    assert compiled["states"][2]["properties"]["flow_sid"] == UNKNOWN


def test_literal_dollar_brace_round_trips():
    x = {
        "initial_state": "T",
        "states": [
            {
                "name": "T",
                "type": "trigger",
                "properties": {"say": "cost ${x} and ${vars.y} and $${z}"},
                "transitions": [],
            }
        ],
    }
    symbolic = decompile_flow(x, vars={}, book=AddressBook())
    assert symbolic["states"][0]["properties"]["say"] == "cost ${$}{x} and ${$}{vars.y} and $${$}{z}"
    assert compile_flow(symbolic, vars={}, book=AddressBook()) == x


def test_short_var_values_are_not_inferred():
    x = {
        "initial_state": "T",
        "states": [{"name": "T", "type": "trigger", "properties": {"say": "press 1"}, "transitions": []}],
    }
    assert (
        decompile_flow(x, vars={"one": "1", "press": "press 1"}, book=AddressBook())["states"][0]["properties"]["say"]
        == "${vars.press}"
    )
    assert decompile_flow(x, vars={"one": "1"}, book=AddressBook()) == x


def test_secret_vars_of_any_length_are_inferred():
    """A secret value is never written out, however short: export and promote decompile live flows."""
    x = {"initial_state": "T", "states": [{"name": "T", "type": "trigger", "properties": {"say": "PIN 4711"},
                                           "transitions": []}]}
    symbolic = decompile_flow(x, vars={"pin": Secret("4711"), "short": "4711"[:3]}, book=AddressBook())
    assert symbolic["states"][0]["properties"]["say"] == "PIN ${vars.pin}"
    assert compile_flow(symbolic, vars={"pin": Secret("4711")}, book=AddressBook()) == x


def test_structural_fields_never_get_vars():
    x = {
        "initial_state": "greeting",
        "states": [
            {
                "name": "greeting",
                "type": "trigger",
                "properties": {},
                "transitions": [{"event": "next", "next": "greeting"}],
            }
        ],
    }
    assert decompile_flow(x, vars={"g": "greeting"}, book=AddressBook()) == x
