"""What the engine works with: a loaded project, its flows, services and environments.

Built by `loader.load_project` from the manifest files. Secrets stay `Secret` objects all
the way through, so `str`, `repr` and `to_dict()` of everything here print `***` for them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from twideploy.errors import ManifestError, Problem
from twideploy.manifest.documents import LineMap
from twideploy.manifest.references import Target, format_target
from twideploy.secrets import MASK, Credentials, Secret

DEFAULT_EMULATOR_ACCOUNT_SID = "AC" + "0" * 32


# --------------------------------------------------------------------------- lazy secrets


class EnvSecret(Secret):
    """A Secret whose value is read from the process environment only when revealed.

    `validate` without `--env` must not fail because CRM_TOKEN is unset on a laptop; a plan
    for that environment must. Revealing raises ManifestError naming the variable and the
    file:line that asked for it.
    """

    __slots__ = ("_compute", "_key")

    def __init__(self, compute: Callable[[], str], key: tuple):
        super().__init__("")
        self._compute = compute
        self._key = key

    def reveal(self) -> str:
        return self._compute()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, EnvSecret):
            return self._key == other._key
        return False

    def __hash__(self) -> int:
        return hash(("EnvSecret", self._key))


def mask(value: Any) -> Any:
    """A JSON-safe copy of `value` with every Secret replaced by the mask."""
    if isinstance(value, Secret):
        return MASK
    if isinstance(value, dict):
        return {str(k): mask(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if hasattr(value, "to_dict"):
        return value.to_dict()
    return value


# --------------------------------------------------------------------------- sources


@dataclass
class FlowSource:
    """One Studio flow from flows/; `definition` is symbolic, `${vars.*}` not yet substituted."""

    name: str
    friendly_name: str
    file: Path
    status: str
    definition: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return mask(self.__dict__)


@dataclass
class CodeFile:
    """A function or asset of a service: its Serverless path, visibility and content."""

    path: str
    visibility: str  # public | protected | private
    content: bytes = field(repr=False)
    file: Path
    kind: Literal["function", "asset"]

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "visibility": self.visibility, "file": str(self.file),
                "kind": self.kind, "content_hash": self.content_hash}


@dataclass
class ServiceSource:
    """One Serverless service from functions/<name>/."""

    name: str
    unique_name: str
    friendly_name: str
    runtime: str
    dependencies: dict[str, str]
    ui_editable: bool
    functions: list[CodeFile]
    assets: list[CodeFile]
    variables: dict[str, str]  # defaults from service.yaml; may use ${vars.x}

    def file(self, path: str) -> CodeFile | None:
        for code in (*self.functions, *self.assets):
            if code.path == path:
                return code
        return None

    def function(self, path: str) -> CodeFile | None:
        return next((f for f in self.functions if f.path == path), None)

    def to_dict(self) -> dict[str, Any]:
        return mask(self.__dict__)


# --------------------------------------------------------------------------- environments


@dataclass(frozen=True)
class Binding:
    voice: Target | None = None
    voice_fallback: Target | None = None
    sms: Target | None = None
    sms_fallback: Target | None = None
    status_callback: Target | None = None
    friendly_name: str | None = None

    TARGET_FIELDS = ("voice", "voice_fallback", "sms", "sms_fallback", "status_callback")

    def targets(self) -> dict[str, Target]:
        return {f: getattr(self, f) for f in self.TARGET_FIELDS if getattr(self, f) is not None}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: format_target(v) for k, v in self.targets().items()}
        if self.friendly_name is not None:
            out["friendly_name"] = self.friendly_name
        return out


@dataclass
class ServiceEnvironment:
    """One service as deployed to one environment."""

    environment: str  # the Serverless environment's unique_name
    domain_suffix: str | None
    variables: dict[str, str | Secret]  # service defaults + environment overrides, vars substituted

    def to_dict(self) -> dict[str, Any]:
        return mask(self.__dict__)


@dataclass
class Environment:
    name: str
    file: Path
    target: Literal["twilio", "emulator"]
    emulator_account_sid: str | None
    vars: dict[str, str | Secret]
    services: dict[str, ServiceEnvironment]
    flows: list[str]
    numbers: dict[str, Binding]
    prune: bool
    state: Literal["local", "account"] = "local"  # where journals, the lock and content hashes live
    preview_testers: list[str] = field(default_factory=list)
    # Not part of the public model: how to get credentials, and which non-secret values
    # still wait for an environment variable (`Project.environment()` reports those).
    _account: dict[str, Callable[[], str]] = field(default_factory=dict, repr=False, compare=False)
    _account_lines: dict[str, tuple[str, int]] = field(default_factory=dict, repr=False, compare=False)
    _missing: list[Problem] = field(default_factory=list, repr=False, compare=False)
    _missing_testers: list[Problem] = field(default_factory=list, repr=False, compare=False)
    lines: LineMap | None = field(default=None, repr=False, compare=False)

    def credentials(self) -> Credentials:
        """The account credentials, read from the process environment now."""
        if self.target == "emulator":
            sid = self.emulator_account_sid or DEFAULT_EMULATOR_ACCOUNT_SID
            return Credentials(sid, sid, Secret("emulator"))
        problems: list[Problem] = []
        values: dict[str, str] = {}
        for key, compute in self._account.items():
            try:
                values[key] = compute()
            except ManifestError as exc:
                problems.extend(p for p in exc.problems if p not in problems)
        for key, pattern, what in (("sid", r"AC[0-9a-f]{32}", "an account SID (AC...)"),
                                   ("api_key", r"SK[0-9a-f]{32}", "an API key SID (SK...)")):
            if key in values and not re.fullmatch(pattern, values[key]):
                file, line = self._account_lines.get(key, (str(self.file), 0))
                problems.append(Problem(file, line, f"account.{key} of environment {self.name!r} is not {what}"))
        if problems:
            raise ManifestError(problems)
        if "api_key" in values:
            return Credentials(values["sid"], values["api_key"], Secret(values["api_secret"]))
        return Credentials(values["sid"], values["sid"], Secret(values["auth_token"]))

    def default_testers(self) -> list[str]:
        """`preview.testers`, for a preview given no `--testers`. An `${env:...}` in them that is
        not set is reported only here: only a preview reads them, so it stops no other command
        (the deploy job need not know the QA team's phones)."""
        if self._missing_testers:
            raise ManifestError(list(self._missing_testers))
        return self.preview_testers

    def missing_env(self) -> list[Problem]:
        """Every `${env:NAME}` this environment needs that is not set, each with file:line."""
        problems = list(self._missing)

        def add(exc: ManifestError) -> None:
            problems.extend(p for p in exc.problems if p not in problems)

        if self.target == "twilio":
            try:
                self.credentials()
            except ManifestError as exc:
                add(exc)
        secrets = [v for v in self.vars.values() if isinstance(v, Secret)]
        for service in self.services.values():
            secrets += [v for v in service.variables.values() if isinstance(v, Secret)]
        for secret in secrets:
            try:
                secret.reveal()
            except ManifestError as exc:
                add(exc)
        return problems

    def to_dict(self) -> dict[str, Any]:
        return mask({k: v for k, v in self.__dict__.items() if not k.startswith("_") and k != "lines"})


# --------------------------------------------------------------------------- project


@dataclass
class Project:
    root: Path
    name: str
    default_environment: str
    flows: dict[str, FlowSource]
    services: dict[str, ServiceSource]
    environments: dict[str, Environment]  # deployable ones (not `abstract: true`)
    # Where things were written, for validation; and what failed to load (to avoid
    # cascades of "unknown flow" for a flow whose file has a syntax error).
    sources: dict[str, LineMap] = field(default_factory=dict, repr=False, compare=False)
    abstract_environments: set[str] = field(default_factory=set, repr=False)
    broken: set[str] = field(default_factory=set, repr=False, compare=False)
    warnings: list[Problem] = field(default_factory=list, repr=False, compare=False)

    def environment(self, name: str) -> Environment:
        """The environment called `name`; ManifestError if unknown or waiting for env vars."""
        if name not in self.environments:
            known = ", ".join(sorted(self.environments)) or "none"
            if name in self.abstract_environments:
                message = (
                    f"environment {name!r} is abstract (abstract: true) and cannot be used directly; known: {known}"
                )
            else:
                message = f"unknown environment {name!r}; known environments: {known}"
            raise ManifestError([Problem("environments", 0, message)])
        env = self.environments[name]
        if env._missing:
            raise ManifestError(list(env._missing))
        return env

    def to_dict(self) -> dict[str, Any]:
        return mask({
            "root": self.root, "name": self.name, "default_environment": self.default_environment,
            "flows": self.flows, "services": self.services, "environments": self.environments,
        })
