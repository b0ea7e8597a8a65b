"""Addresses render as plans and journals always wrote them and parse back to the same fields,
service folders with dots (`crm.v2`) included."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twideploy.addresses import Address

FOLDER = st.text(st.sampled_from("abcXYZ019-_."), min_size=1, max_size=12)  # a folder name: no "/"
PATH = st.text(st.sampled_from("abc019._~-/"), max_size=12).map(lambda p: "/" + p)
KEY = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=12)
NAME = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=20)

ADDRESSES = st.one_of(
    st.builds(Address.flow, NAME),
    st.builds(Address.number, NAME),
    st.builds(Address.service, FOLDER),
    st.builds(Address.service, FOLDER, st.sampled_from(["environment", "build"])),
    st.builds(Address.service, FOLDER, st.sampled_from(["function", "asset"]), PATH),
    st.builds(Address.service, FOLDER.filter(lambda f: ".variable." not in f + "."), st.just("variable"), KEY),
)


@given(ADDRESSES)
def test_an_address_parses_back_from_its_rendering_given_its_kind(address):
    parsed = Address.parse(str(address), address.kind)
    assert (parsed.family, parsed.owner, parsed.part, parsed.name) == \
        (address.family, address.owner, address.part, address.name)


@given(ADDRESSES.filter(lambda a: not a.owner.endswith((".build", ".environment"))
                        and not (a.part is None and ".function./" in a.owner + "/")
                        and not (a.part is None and ".asset./" in a.owner + "/")
                        and not (a.part is None and ".variable." in a.owner)))
def test_an_address_parses_back_without_its_kind(address):
    assert Address.parse(str(address)) == address
    assert Address.parse(str(address)).kind == address.kind


@pytest.mark.parametrize("text, fields", [
    ("flow.ivr-main", ("flow", "ivr-main", None, None)),
    ("flow.subflows/lookup-caller", ("flow", "subflows/lookup-caller", None, None)),
    ("number.+15005550006", ("number", "+15005550006", None, None)),
    ("service.crm", ("service", "crm", None, None)),
    ("service.crm.v2", ("service", "crm.v2", None, None)),
    ("service.crm.build", ("service", "crm", "build", None)),
    ("service.crm.v2.build", ("service", "crm.v2", "build", None)),
    ("service.crm.v2.environment", ("service", "crm.v2", "environment", None)),
    ("service.crm.function./lookup", ("service", "crm", "function", "/lookup")),
    ("service.crm.v2.function./x", ("service", "crm.v2", "function", "/x")),
    ("service.crm.v2.asset./hold.v1.xml", ("service", "crm.v2", "asset", "/hold.v1.xml")),
    ("service.crm.v2.variable.CRM_URL", ("service", "crm.v2", "variable", "CRM_URL")),
])
def test_todays_addresses(text, fields):
    address = Address.parse(text)
    assert (address.family, address.owner, address.part, address.name) == fields
    assert str(address) == text


def test_crm_and_crm_v2_are_different_resources():
    crm, v2 = Address.service("crm"), Address.parse("service.crm.v2.function./x")
    assert v2.resource == Address.service("crm.v2") != crm
    assert Address.parse("service.crm.function./x").resource == crm


def test_a_kind_settles_a_folder_named_like_a_part():
    assert Address.parse("service.crm.build", "service") == Address.service("crm.build")
    assert Address.parse("service.crm.build", "build") == Address.service("crm", "build")


def test_equal_to_its_rendering():
    assert Address.flow("ivr-main") == "flow.ivr-main"
    assert {Address.flow("ivr-main")} == {"flow.ivr-main"}


@pytest.mark.parametrize("text", ["", "flow", "flow.", "Flow.x", ".x", "service."])
def test_not_an_address(text):
    with pytest.raises(ValueError):
        Address.parse(text)


def test_a_kind_that_does_not_fit_is_refused():
    with pytest.raises(ValueError):
        Address.parse("service.crm", "variable")
