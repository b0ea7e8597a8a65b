"""Liquid as Studio renders it (python-liquid, with Studio's differences; docs/flow-tests.md)."""

from __future__ import annotations

import pytest

from twideploy.flowtest.liquid import MAX_LOOP_ITERATIONS, LiquidRenderError, StudioLiquid, studio_data


def render(text: str, **context) -> str:
    return StudioLiquid().render(text, studio_data(context))


def test_a_loop_stops_after_15_iterations_as_studio_faq_says():
    assert MAX_LOOP_ITERATIONS == 15
    assert render("{% for i in (1..40) %}{{ i }},{% endfor %}") == "".join(f"{i}," for i in range(1, 16))
    assert render("{% for x in items %}{{ x }}{% endfor %}", items=list("abcdefghijklmnopqrstuvwxyz")) == \
        "abcdefghijklmno"
    assert render("{% for x in items limit: 3 %}{{ x }}{% endfor %}", items=list("abcdef")) == "abc"


def test_an_object_renders_as_json_and_its_keys_are_reachable():
    context = {"widgets": {"http": {"parsed": {"id": "A-1", "items": [1, 2]}}}}
    assert render("{{ widgets.http.parsed }}", **context) == '{"id":"A-1","items":[1,2]}'
    assert render("{{ widgets.http.parsed.id }}/{{ widgets.http.parsed.items.size }}", **context) == "A-1/2"


def test_undefined_renders_as_nothing_and_filters_work():
    assert render("[{{ widgets.nope.Digits }}]") == "[]"
    assert render("{{ n | url_encode }} {{ s | upcase }} {{ m | default: 'x' }}", n="+1 555", s="ab") == \
        "%2B1+555 AB x"
    assert render("{% if known %}Hi {{ name }}{% else %}Hello{% endif %}", known=True, name="Ada") == "Hi Ada"


@pytest.mark.parametrize("template", ["{{ x | no_such_filter }}", "{% if %}", "{% for %}"])
def test_a_template_studio_would_refuse_is_an_error(template):
    with pytest.raises(LiquidRenderError):
        render(template, x=1)
