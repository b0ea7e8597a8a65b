"""What one environment's manifests want (Desired) and what the account has (Live).

Both are handed to every provider (see `twideploy.providers`): Desired is read from the
project, Live holds each provider's own live state under the provider's name.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from twideploy.manifest import Environment, Project
from twideploy.manifest.references import contains_any, var_names
from twideploy.secrets import Secret


@dataclass
class Desired:
    project: Project
    env: Environment

    @property
    def flows(self) -> list[Any]:
        """The environment's flows, subflows before the flows that run them."""
        return order_flows([self.project.flows[name] for name in self.env.flows])

    @property
    def services(self) -> dict[str, tuple[Any, Any]]:
        return {name: (self.project.services[name], settings) for name, settings in self.env.services.items()}

    def secret_values(self) -> list[str]:
        values = [v.reveal() for v in self.env.vars.values() if isinstance(v, Secret)]
        for settings in self.env.services.values():
            values += [v.reveal() for v in settings.variables.values() if isinstance(v, Secret)]
        return [v for v in values if v]

    def holds_secret(self, friendly_name: str, definition: dict[str, Any]) -> bool:
        """Whether a live flow's definition may hold a secret value: a current one is in it, or
        the project's manifest of that flow puts a var there that is a secret in this
        environment, or that it does not define (an earlier, rotated value is not found by value)."""
        if contains_any(definition, self.secret_values()):
            return True
        source = next((f for f in self.project.flows.values() if f.friendly_name == friendly_name), None)
        return source is not None and any(isinstance(self.env.vars.get(name), Secret) or name not in self.env.vars
                                          for name in var_names(source.definition))


@dataclass
class Live:
    """The live state, by provider name: each provider reads and keeps its own part. The three
    built-in kinds are also reachable by name (`live.flows`, ...) for the code that audits them."""

    parts: dict[str, Any] = field(default_factory=dict)

    @property
    def flows(self) -> Any:
        return self.parts["flows"]

    @property
    def services(self) -> Any:
        return self.parts["services"]

    @property
    def numbers(self) -> Any:
        return self.parts["numbers"]


def order_flows(sources: list[Any]) -> list[Any]:
    """Topological order over run-subflow references (a subflow before its callers).

    Cycles are rejected by `validate`; here a cycle would simply keep manifest order.
    Depth-first with an explicit stack, not recursion: `validate` accepts a chain of a
    thousand subflows, which must not end in a RecursionError here.
    """
    by_name = {s.name: s for s in sources}
    ordered: list[Any] = []
    seen: set[str] = set()

    def subflows(source: Any) -> Iterator[Any]:
        for state in source.definition.get("states", []):
            target = (state.get("properties") or {}).get("flow") if state.get("type") == "run-subflow" else None
            if target in by_name:
                yield by_name[target]

    for root in sources:
        if root.name in seen:
            continue
        seen.add(root.name)
        stack = [(root, subflows(root))]
        while stack:
            source, pending = stack[-1]
            sub = next((s for s in pending if s.name not in seen), None)
            if sub is None:
                stack.pop()
                ordered.append(source)
            else:
                seen.add(sub.name)
                stack.append((sub, subflows(sub)))
    return ordered
