"""A plan is plain data: what would change, per resource, and the live state it was read from.

It is computed by `planner`, rendered by `twideploy.render`, saved as JSON by `plan --out`,
and executed by `executor`. Values that are secret never enter a plan: they are masked
before a Change is built (see `mask`). A saved plan is read back only after `PlanFileSpec`
checked its shape, so a hand-edited `"fingerprint": null` is an error, not a traceback.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import BaseModel, Field, model_validator

from twideploy.addresses import Address

PLAN_FORMAT_VERSION = 1
MAX_PLAN_BYTES = 16 * 1024 * 1024
MAX_PLAN_DEPTH = 128  # a plan holds flow definitions (at most 64 deep) a few levels down
MAX_PLAN_VALUES = 1_000_000  # keys and values


class Action(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    NOOP = "no-op"
    UNMANAGED = "unmanaged"  # exists live, not in the manifests, left alone without --prune


@dataclass(frozen=True)
class WidgetChange:
    """One semantic difference inside a flow definition.

    `what` is one of: added, removed, property, transition, layout, flow (a top-level
    field such as description or flags). Layout changes are cosmetic.
    """

    widget: str
    what: str
    detail: str
    before: Any = None
    after: Any = None

    @property
    def cosmetic(self) -> bool:
        return self.what == "layout"


@dataclass
class Change:
    """What happens to one resource. `address` is stable and unique in a plan, written as
    e.g. `flow.ivr-main`, `service.crm`, `service.crm.function./lookup`, `number.+15005550006`.

    `diff` is for reviewers, not for apply: an updated function's unified diff (live -> local)
    or an updated asset's size and hash, as lines (see `providers.serverless.code_diff`)."""

    kind: str
    address: Address
    action: Action
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    widgets: list[WidgetChange] = field(default_factory=list)
    reason: str = ""
    diff: list[str] = field(default_factory=list)

    @property
    def cosmetic_only(self) -> bool:
        return self.action is Action.UPDATE and bool(self.widgets) and all(w.cosmetic for w in self.widgets)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["address"], data["action"] = str(self.address), self.action.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        return cls(kind=data["kind"], address=Address.parse(data["address"], data["kind"]),
                   action=Action(data["action"]),
                   before=data.get("before"), after=data.get("after"),
                   widgets=[WidgetChange(**w) for w in data.get("widgets", [])],
                   reason=data.get("reason", ""), diff=data.get("diff", []))


@dataclass
class Plan:
    environment: str
    account_sid: str
    changes: list[Change]
    fingerprint: dict[str, Any]
    git_sha: str | None = None
    created_at: str = ""
    include_layout: bool = False
    prune: bool = False
    version: int = PLAN_FORMAT_VERSION

    @property
    def actionable(self) -> list[Change]:
        """Changes apply would make (layout-only flow edits count only with include_layout)."""
        return [c for c in self.changes
                if c.action in (Action.CREATE, Action.UPDATE, Action.DELETE)
                and (self.include_layout or not c.cosmetic_only)]

    @property
    def has_changes(self) -> bool:
        return bool(self.actionable)

    def summary(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "delete": 0}
        for change in self.actionable:
            counts[change.action.value] += 1
        return counts

    def summary_line(self) -> str:
        s = self.summary()
        if not self.has_changes:
            return "No changes. The live account matches the manifests."
        return f"Plan: {s['create']} to create, {s['update']} to update, {s['delete']} to delete."

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.version,
            "environment": self.environment,
            "account_sid": self.account_sid,
            "git_sha": self.git_sha,
            "created_at": self.created_at,
            "include_layout": self.include_layout,
            "prune": self.prune,
            "summary": self.summary(),
            "fingerprint": self.fingerprint,
            "changes": [c.to_dict() for c in self.changes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        return cls(environment=data["environment"], account_sid=data["account_sid"],
                   changes=[Change.from_dict(c) for c in data["changes"]],
                   fingerprint=data["fingerprint"], git_sha=data.get("git_sha"),
                   created_at=data.get("created_at", ""), include_layout=data.get("include_layout", False),
                   prune=data.get("prune", False), version=data["format_version"])


# --------------------------------------------------------------------------- the saved file
# What `Plan.from_dict` and `check_saved_plan` use, typed; fields may be added within a format
# version, so other keys are ignored.


class _WidgetChangeSpec(BaseModel):
    widget: str
    what: str
    detail: str
    before: Any = None
    after: Any = None


class _ChangeSpec(BaseModel):
    kind: str
    address: str
    action: Action
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    widgets: list[_WidgetChangeSpec] = Field(default_factory=list)
    reason: str = ""
    diff: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _address_of_kind(self) -> _ChangeSpec:
        Address.parse(self.address, self.kind)  # its ValueError is reported as the field's error
        return self


class _FingerprintSpec(BaseModel):
    flows: dict[str, Any]
    services: dict[str, dict[str, Any]]
    numbers: dict[str, Any]


class PlanFileSpec(BaseModel):
    format_version: int
    environment: str = Field(min_length=1)
    account_sid: str
    git_sha: str | None = None
    created_at: str = ""
    include_layout: bool = False
    prune: bool = False
    fingerprint: _FingerprintSpec
    changes: list[_ChangeSpec]
