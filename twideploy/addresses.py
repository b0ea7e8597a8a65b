"""Resource addresses: what every plan change, journal step and drift item is about.

An address names one resource and is rendered as plans, journals and docs have always
written it: `flow.ivr-main`, `number.+15005550006`, `service.crm`, and the parts of a service,
`service.crm.environment`, `service.crm.build`, `service.crm.function./lookup`,
`service.crm.asset./hold.xml`, `service.crm.variable.KEY`. Rendering and parsing live here
only: code asks an Address for its fields and never takes a string apart, which once let
`service.crm.` also match the parts of a service folder named `crm.v2`.

Parsing is unambiguous for the names a project can hold: a service folder may contain dots
(`crm.v2`) but no `/`, and a function or asset path starts with `/`, so the first
`.function./` or `.asset./` ends the owner. Given the resource kind (a plan's Change and a
journal's op both say it), a service folder ending in `.build` reads right too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PARTS = {"environment", "build", "function", "asset", "variable"}  # only a service has parts
FAMILY = re.compile(r"[a-z][a-z0-9_-]*")  # a provider's: flow, service, number, ...
_NAMED = ("function", "asset", "variable")  # parts that name a member: a path or a key
_SINGLE = ("environment", "build")  # parts a service has one of


@dataclass(frozen=True, eq=False)
class Address:
    """`family` is the provider's (flow, service, number); `owner` the flow's name, the service's folder or the
    E.164 number; `part` a service's part (None for the resource itself); `name` a function or
    asset path or a variable key.

    An Address equals (and hashes as) its rendering, so the written form read back from a plan
    file or a journal compares with it directly.
    """

    family: str
    owner: str
    part: str | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        if not FAMILY.fullmatch(self.family) or not self.owner or \
                (self.part is not None and (self.family != "service" or self.part not in PARTS)):
            raise ValueError(f"not a resource address: {self.family} {self.owner} {self.part}")
        if (self.part in _NAMED) != (self.name is not None):
            raise ValueError(f"a {self.part or self.family} address {'needs' if self.name is None else 'has no'} name")

    @property
    def kind(self) -> str:
        """The resource kind, as a plan's Change names it: flow, number, service or the part."""
        return self.part or self.family

    @property
    def resource(self) -> Address:
        """The top-level resource this is (part of): `service.crm` for `service.crm.build`."""
        return Address(self.family, self.owner)

    def __str__(self) -> str:
        text = f"{self.family}.{self.owner}"
        if self.part:
            text += f".{self.part}"
        if self.name is not None:
            text += f".{self.name}"
        return text

    def __repr__(self) -> str:
        return f"Address({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (Address, str)):
            return str(self) == str(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(str(self))

    def __lt__(self, other: Address) -> bool:
        return str(self) < str(other)

    @classmethod
    def parse(cls, text: str, kind: str | None = None) -> Address:
        """The address `text` renders; `kind` (the resource kind, when known) settles a service
        folder whose name ends like a part. ValueError when `text` is no address."""
        family, dot, rest = text.partition(".")
        if not dot or not rest or not FAMILY.fullmatch(family):
            raise ValueError(f"not a resource address: {text!r}")
        if family != "service" or kind == "service":
            return cls(family, rest)
        for part in _NAMED:
            if kind in (None, part):
                owner, marker, name = rest.partition(f".{part}." + ("/" if part != "variable" else ""))
                if marker and owner:
                    return cls(family, owner, part, name if part == "variable" else "/" + name)
        for part in _SINGLE:
            if kind in (None, part) and rest.endswith(f".{part}") and len(rest) > len(part) + 1:
                return cls(family, rest[:-len(part) - 1], part)
        if kind not in (None, "service"):
            raise ValueError(f"not a {kind} address: {text!r}")
        return cls(family, rest)

    # -- constructors, one per kind of resource --------------------------------------------

    @classmethod
    def flow(cls, name: str) -> Address:
        return cls("flow", name)

    @classmethod
    def number(cls, e164: str) -> Address:
        return cls("number", e164)

    @classmethod
    def service(cls, folder: str, part: str | None = None, name: str | None = None) -> Address:
        return cls("service", folder, part, name)
