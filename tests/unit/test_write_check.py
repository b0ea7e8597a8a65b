"""The check apply runs before each write (`providers.base.verify`): what it is about to write
must be the planned value with each "(known after apply)" resolved, and nothing else."""

import pytest

from twideploy.addresses import Address
from twideploy.errors import ApplyError
from twideploy.manifest.references import UNKNOWN
from twideploy.providers.base import verify

FLOW = Address.flow("ivr-main")


@pytest.mark.parametrize("planned, written", [
    ({"a": 1, "b": ["x", {"c": None}]}, {"a": 1, "b": ["x", {"c": None}]}),
    ({"sid": UNKNOWN}, {"sid": "FW123"}),
    ({"url": f"https://{UNKNOWN}/lookup"}, {"url": "https://crm-1234-dev.twil.io/lookup"}),
    ({"states": [{"properties": {"service_sid": UNKNOWN, "say": "Hi"}}]},
     {"states": [{"properties": {"service_sid": "ZS1", "say": "Hi"}}]}),
])
def test_the_planned_value_with_unknowns_resolved_passes(planned, written):
    verify(FLOW, planned, written)


@pytest.mark.parametrize("planned, written, where", [
    ({"a": 1}, {"a": 2}, ".a"),
    ({"a": 1}, {"a": 1, "b": 2}, ".b"),
    ({"a": 1, "b": 2}, {"a": 1}, ".b"),
    ({"l": [1, 2]}, {"l": [1, 2, 3]}, ".l"),
    ({"l": [{"say": "Hi"}]}, {"l": [{"say": "Bye"}]}, ".l[0].say"),
    ({"url": f"https://{UNKNOWN}/lookup"}, {"url": "https://elsewhere/other"}, ".url"),
    ({"sid": UNKNOWN}, {"sid": ""}, ".sid"),  # an unknown resolves to something
    ({"sid": UNKNOWN}, {"sid": 7}, ".sid"),
])
def test_anything_else_is_refused_naming_where(planned, written, where):
    with pytest.raises(ApplyError) as error:
        verify(FLOW, planned, written)
    assert str(error.value).startswith(
        f"flow.ivr-main: what apply was about to write differs from the plan at {where};")


def test_the_error_names_no_value():
    with pytest.raises(ApplyError) as error:
        verify(FLOW, {"token": "s3cret-planned"}, {"token": "s3cret-written"})
    assert "s3cret" not in str(error.value)
