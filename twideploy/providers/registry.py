"""Every resource kind, in dependency order: a kind may refer to the kinds before it
(flows run functions, numbers point at flows and functions). Apply goes in this order,
deletions in the reverse one. Adding a kind is a module and a line here."""

from __future__ import annotations

from twideploy.providers.base import Provider, UndoFunction
from twideploy.providers.flows import FlowsProvider
from twideploy.providers.numbers import NumbersProvider
from twideploy.providers.serverless import ServerlessProvider

PROVIDERS: list[Provider] = [ServerlessProvider(), FlowsProvider(), NumbersProvider()]


def undo_table() -> dict[str, UndoFunction]:
    """Write op -> the function that undoes it, over every provider."""
    return {op: undo for provider in PROVIDERS for op, undo in provider.undo.items()}
