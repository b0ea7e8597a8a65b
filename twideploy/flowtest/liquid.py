"""Liquid as Studio renders it: python-liquid, with the differences Studio has from Shopify Liquid.

- A loop runs at most 15 iterations; later items are skipped (Studio FAQ, "Liquid Template
  loops: Limited to 15 iterations per Liquid Template loop").
- An object (a mapping, e.g. `{{widgets.http.parsed}}` or `{{flow.data}}`) renders as JSON,
  not as Python's `{'k': 1}`: Studio's context is JSON and so is what it prints of it.
- Undefined variables render as nothing, as in Shopify Liquid and in Studio (a typo in a
  widget name is therefore silent: `validate` warns about unknown widgets instead).
- A template that does not parse is an error of the scenario run, named with its widget and
  property: Studio refuses to publish such a flow.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from itertools import islice
from typing import Any

from liquid import Environment
from liquid.builtin.expressions.loop import LoopExpression
from liquid.builtin.tags.for_tag import ForNode, ForTag
from liquid.exceptions import LiquidError

MAX_LOOP_ITERATIONS = 15


class LiquidRenderError(Exception):
    """A template Studio would not render: a syntax error or an unknown filter."""


class _StudioLoop(LoopExpression):
    """A `for` loop expression that yields at most MAX_LOOP_ITERATIONS items."""

    __slots__ = ()

    def _slice(self, it: Iterator[object], length: int, context: Any, *, limit: int | None,
               offset: int | str | None) -> tuple[Iterator[object], int]:
        sliced, count = super()._slice(it, length, context, limit=limit, offset=offset)
        return islice(sliced, MAX_LOOP_ITERATIONS), min(count, MAX_LOOP_ITERATIONS)


class _StudioFor(ForTag):
    def parse(self, stream: Any) -> ForNode:
        node = super().parse(stream)
        assert isinstance(node, ForNode)
        shopify = node.expression
        node.expression = _StudioLoop(shopify.token, shopify.identifier, shopify.iterable, limit=shopify.limit,
                                      offset=shopify.offset, reversed_=shopify.reversed, cols=shopify.cols)
        return node


class _JsonObject(dict):
    """A mapping of the execution context; prints as JSON, as Studio prints objects."""

    def __str__(self) -> str:
        return json.dumps(self, separators=(",", ":"), ensure_ascii=False)


def studio_data(value: Any) -> Any:
    """`value` with every mapping made a `_JsonObject` (recursively), ready for rendering."""
    if isinstance(value, Mapping):
        return _JsonObject({str(k): studio_data(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return [studio_data(v) for v in value]
    return value


class StudioLiquid:
    """Renders widget properties against an execution context; templates are parsed once."""

    def __init__(self) -> None:
        self._env = Environment()
        self._env.add_tag(_StudioFor)
        self._parsed: dict[str, Any] = {}

    def render(self, text: str, context: Mapping[str, Any]) -> str:
        if "{" not in text:
            return text
        try:
            template = self._parsed.get(text)
            if template is None:
                template = self._parsed[text] = self._env.from_string(text)
            return str(template.render(**context))
        except LiquidError as error:
            raise LiquidRenderError(str(error).splitlines()[0]) from error
