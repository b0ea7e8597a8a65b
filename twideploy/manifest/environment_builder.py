"""Building one Environment from its merged environment document.

Values here are templates: `${vars.x}` (vars may use vars, resolved once each, with cycles
and nesting deeper than MAX_VAR_NESTING reported), `${env:NAME}` (read from the process
environment) and `{secret: ...}`. A value that uses a secret must be a secret itself, and a
plain value holding a URL with a password is refused, since plans and logs print plain
values. Environment variables are read lazily where they may be missing on the machine
that loads the project: a missing one for a plain value is recorded (`Environment._missing`,
raised only when that environment is used; in `preview.testers`, `_missing_testers`, raised
only when a preview reads them), and credentials and secrets read theirs only
when revealed, so `validate` without `--env` does not need prod's secrets.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

from twideploy.errors import ManifestError, Problem
from twideploy.manifest.contacts import E164, tester_problem
from twideploy.manifest.documents import Document, LineMap, format_path
from twideploy.manifest.files import ProjectFiles
from twideploy.manifest.models import EnvironmentSpec
from twideploy.manifest.project import Binding, Environment, EnvSecret, ServiceEnvironment, ServiceSource
from twideploy.manifest.references import parse_target
from twideploy.manifest.templates import NAME, EnvRef, VarRef, has_url_password, parse_template, scalar_text
from twideploy.secrets import Secret

SERVERLESS_ENV_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
DOMAIN_SUFFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,15}")
ACCOUNT_SID = re.compile(r"AC[0-9a-f]{32}")
MAX_VAR_NESTING = 32  # vars using vars using vars...


def build_environment(files: ProjectFiles, name: str, doc: Document, spec: EnvironmentSpec, data: dict,
                      lines: LineMap, services: dict[str, ServiceSource]) -> Environment | None:
    """Environment `name` from its merged `data` (checked as `spec`, located by `lines`; `doc`
    is its own file), or None with its problems recorded in `files`."""
    return _EnvironmentBuilder(files, name, doc, spec, data, lines, services).build()


class _Value:
    """A partly resolved value: parts to join (its vars already resolved into _Values), and
    whether it is (or uses) a secret."""

    def __init__(self, parts: list[str | EnvRef | _Value], secret: bool, where: tuple[str, int], label: str, env: str):
        self.env = env
        self.parts = parts
        self.secret = secret
        self.where = where
        self.label = label

    def uses_secret(self) -> bool:
        return self.secret or any(isinstance(p, _Value) and p.uses_secret() for p in self.parts)

    def env_refs(self) -> list[tuple[EnvRef, _Value]]:
        out: list[tuple[EnvRef, _Value]] = []
        for part in self.parts:
            if isinstance(part, EnvRef):
                out.append((part, self))
            elif isinstance(part, _Value):
                out.extend(part.env_refs())
        return out

    def render(self) -> tuple[str, list[Problem]]:
        """The text, with every environment variable read now; one that is not set stays
        `${env:NAME}` in the text and is a problem at the line that asked for it."""
        text: list[str] = []
        problems: list[Problem] = []
        for part in self.parts:
            if isinstance(part, _Value):
                sub, sub_problems = part.render()
                text.append(sub)
                problems += [p for p in sub_problems if p not in problems]
            elif isinstance(part, EnvRef):
                value = os.environ.get(part.name)
                if value is None:
                    problems.append(Problem(self.where[0], self.where[1],
                                            f"environment variable {part.name} is not set (needed by {self.label} "
                                            f"of environment {self.env!r})"))
                    text.append(f"${{env:{part.name}}}")
                else:
                    text.append(value)
            else:
                text.append(part)
        return "".join(text), problems

    def reveal(self) -> str:
        """The text, or ManifestError if an environment variable it needs is not set: what a
        credential or a secret read from the environment is, computed only when used."""
        text, problems = self.render()
        if problems:
            raise ManifestError(problems)
        return text


class _EnvironmentBuilder:
    """One environment's values resolved once each, and every problem in them recorded."""

    def __init__(self, files: ProjectFiles, name: str, doc: Document, spec: EnvironmentSpec, data: dict,
                 lines: LineMap, services: dict[str, ServiceSource]):
        self.files = files
        self.name = name
        self.doc = doc
        self.spec = spec
        self.data = data
        self.lines = lines
        self.services = services
        self.ok = True
        self.vars: dict[str, _Value | None] = {}
        self.resolving: list[str] = []
        self.too_deep = False
        self.missing: list[Problem] = []
        self.missing_testers: list[Problem] = []

    def fail(self, path: tuple, message: str, lines: LineMap | None = None) -> None:
        self.files.problems.append((lines or self.lines).problem(path, message))
        self.ok = False

    # -------------------------------------------------------------- values

    def parse(self, raw: Any, path: tuple, *, allow_env: bool = True, lines: LineMap | None = None,
              label: str | None = None) -> _Value | None:
        secret = isinstance(raw, dict)
        text = scalar_text(raw["secret"] if secret else raw)
        label = label or format_path(path)
        try:
            parts = parse_template(text)
        except ValueError as exc:
            self.fail(path, f"{label}: {exc}", lines)
            return None
        where = (lines or self.lines).locate(path)
        resolved: list[str | EnvRef | _Value] = []
        for part in parts:
            if isinstance(part, EnvRef) and not allow_env:
                self.fail(path, f"{label}: ${{env:{part.name}}} is only allowed in environment files", lines)
                return None
            if isinstance(part, VarRef):
                var = self.var(part.name, path, lines, label)
                if var is None:
                    return None
                resolved.append(var)
            else:
                resolved.append(part)
        return _Value(resolved, secret, where, label, self.name)

    def var(self, name: str, used_at: tuple, lines: LineMap | None, label: str) -> _Value | None:
        if name in self.vars:
            return self.vars[name]
        raw_vars = self.data.get("vars") or {}
        if name not in raw_vars:
            defined = ", ".join(sorted(raw_vars)) or "none"
            self.fail(
                used_at,
                f"{label}: ${{vars.{name}}} is not defined in environment {self.name!r} (vars: {defined})",
                lines,
            )
            return None
        if name in self.resolving:
            cycle = " -> ".join([*self.resolving[self.resolving.index(name):], name])
            self.fail(("vars", name), f"vars.{name}: vars refer to each other in a cycle: {cycle}")
            self.vars[name] = None
            return None
        if len(self.resolving) >= MAX_VAR_NESTING:
            if not self.too_deep:  # once, not again for every var further up the chain
                self.fail(("vars", name), f"vars.{name}: vars use vars more than {MAX_VAR_NESTING} levels deep")
            self.too_deep = True
            self.vars[name] = None
            return None
        self.resolving.append(name)
        value = self.parse(raw_vars[name], ("vars", name))
        self.resolving.pop()
        self.vars[name] = value
        return value

    def finish(self, value: _Value, key: tuple, lines: LineMap | None = None) -> str | Secret:
        """A final value: a str (env read now; a missing one is recorded, not raised), a Secret,
        or an EnvSecret that reads the environment when revealed."""
        if value.uses_secret() and not value.secret:
            self.fail(
                key, f"{value.label}: uses a secret var, so it must be a secret too: write {{secret: ...}}", lines
            )
            return ""
        if value.secret:
            if not value.env_refs():
                text, _ = value.render()
                return Secret(text)
            return EnvSecret(value.reveal, (self.name, value.label))
        text, problems = value.render()
        if has_url_password(text):
            self.fail(key, f"{value.label}: holds a URL with a password, which plans and logs would print: "
                           "write {secret: ...}", lines)
            return ""
        self.missing += [p for p in problems if p not in self.missing]
        return text

    # -------------------------------------------------------------- build

    def build(self) -> Environment | None:
        spec, data = self.spec, self.data
        root_problem_path: tuple = ()
        if spec.target is None:
            self.fail(root_problem_path, "missing required key 'target' (twilio or emulator)")
            return None
        for name in data.get("vars") or {}:
            if not NAME.fullmatch(str(name)):
                self.fail(("vars", name), f"vars: invalid var name {name!r} (letters, digits and _)")
        env_vars: dict[str, str | Secret] = {}
        for name in data.get("vars") or {}:
            value = self.var(name, ("vars", name), None, f"vars.{name}")
            if value is not None:
                env_vars[name] = self.finish(value, ("vars", name))

        account: dict[str, Callable[[], str]] = {}
        emulator_sid: str | None = None
        if spec.target == "twilio":
            if spec.emulator is not None:
                self.fail(("emulator",), "emulator: only allowed with target: emulator")
            if spec.account is None:
                self.fail((), "target twilio needs an account: {sid, api_key, api_secret} or {sid, auth_token}")
            else:
                account = self.account(spec)
        else:
            if spec.account is not None:
                self.fail(
                    ("account",), "account: not allowed with target: emulator (the emulator needs no credentials)"
                )
            if spec.emulator is not None and spec.emulator.account_sid is not None:
                emulator_sid = spec.emulator.account_sid
                if not ACCOUNT_SID.fullmatch(emulator_sid):
                    self.fail(
                        ("emulator", "account_sid"), "emulator.account_sid: expected AC followed by 32 hex digits"
                    )

        services: dict[str, ServiceEnvironment] = {}
        for name, service_spec in spec.services.items():
            services[name] = self.service(name, service_spec)

        numbers: dict[str, Binding] = {}
        for number, binding in spec.numbers.items():
            if not E164.fullmatch(number):
                self.fail(("numbers", number), f"numbers: {number!r} is not an E.164 number (e.g. \"+15005550006\")")
                continue
            targets = {}
            for field in Binding.TARGET_FIELDS:
                text = getattr(binding, field)
                if text is not None:
                    targets[field] = parse_target(text)
            numbers[number] = Binding(**targets, friendly_name=binding.friendly_name)

        testers = self.testers(spec)

        seen: set[str] = set()
        for i, flow in enumerate(spec.flows):
            if flow in seen:
                self.files.problems.append(
                    self.lines.problem(("flows", i), f"flows: {flow!r} is listed twice", "warning")
                )
            seen.add(flow)

        for key in ("target", "extends", "emulator", "state"):
            self.no_templates(key)
        for i, _ in enumerate(spec.flows):
            self.no_templates("flows", i)
        for number in spec.numbers:
            self.no_templates("numbers", number)
        if not self.ok:
            return None
        env = Environment(
            name=self.name,
            file=self.files.root / self.doc.file,
            target=spec.target,
            emulator_account_sid=emulator_sid,
            vars=env_vars,
            services=services,
            flows=list(dict.fromkeys(spec.flows)),
            numbers=numbers,
            prune=spec.prune,
            state=spec.state,
            preview_testers=testers,
            lines=self.lines,
        )
        env._account = account
        env._account_lines = {key: self.lines.locate(("account", key)) for key in account}
        env._missing = self.missing
        env._missing_testers = self.missing_testers
        return env

    def testers(self, spec: EnvironmentSpec) -> list[str]:
        """`preview.testers`: each a phone number or client identity, ${env:...} and ${vars.x} allowed."""
        testers: list[str] = []
        for i, raw in enumerate(spec.preview.testers if spec.preview else []):
            path = ("preview", "testers", i)
            value = self.parse(raw, path)
            if value is None:
                continue
            if value.secret or value.uses_secret():
                self.fail(path, f"preview.testers[{i}]: a tester is shown in every preview's output, "
                                f"so it cannot be a secret")
                continue
            text, problems = value.render()
            if problems:  # an ${env:...} not set: reported when a preview needs the testers
                self.missing_testers += [p for p in problems if p not in self.missing_testers]
                continue
            problem = tester_problem(text)
            if problem:
                self.fail(path, f"preview.testers[{i}]: {problem}")
            else:
                testers.append(text)
        return list(dict.fromkeys(testers))

    def no_templates(self, *path: Any) -> None:
        def walk(value: Any, p: tuple) -> None:
            if isinstance(value, str) and "${" in value:
                self.fail(p, f"{format_path(p)}: ${{...}} references are not allowed here")
            elif isinstance(value, dict):
                for k, v in value.items():
                    walk(v, p + (k,))
            elif isinstance(value, list):
                for i, v in enumerate(value):
                    walk(v, p + (i,))

        value: Any = self.data
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        walk(value, tuple(path))

    def account(self, spec: EnvironmentSpec) -> dict[str, Callable[[], str]]:
        acc = spec.account
        assert acc is not None
        if acc.sid is None:
            self.fail(("account",), "account: missing required key 'sid' (e.g. ${env:TWILIO_ACCOUNT_SID})")
        if acc.auth_token is not None and (acc.api_key is not None or acc.api_secret is not None):
            self.fail(("account",), "account: give either api_key + api_secret or auth_token, not both")
        elif acc.auth_token is None and (acc.api_key is None or acc.api_secret is None):
            missing = (
                "api_secret" if acc.api_key is not None
                else "api_key" if acc.api_secret is not None
                else "api_key + api_secret (or auth_token)"
            )
            self.fail(("account",), f"account: missing {missing}")
        computes: dict[str, Callable[[], str]] = {}
        for key in ("sid", "api_key", "api_secret", "auth_token"):
            raw = getattr(acc, key)
            if raw is None:
                continue
            value = self.parse(raw, ("account", key))
            if value is None:
                continue
            if key in ("api_secret", "auth_token") and not value.env_refs():
                self.fail(
                    ("account", key),
                    f"account.{key}: must come from the environment, e.g. ${{env:TWILIO_{key.upper()}}}; "
                    "never commit it",
                )
                continue
            computes[key] = value.reveal
        return computes

    def service(self, name: str, spec) -> ServiceEnvironment:
        base = ("services", name)
        if not SERVERLESS_ENV_NAME.fullmatch(spec.environment):
            self.fail(
                base + ("environment",),
                f"services.{name}.environment: invalid Serverless environment name {spec.environment!r}",
            )
        if spec.domain_suffix is not None and not DOMAIN_SUFFIX.fullmatch(spec.domain_suffix):
            self.fail(base + ("domain_suffix",), f"services.{name}.domain_suffix: must be 1-16 letters, digits or '-'")
        variables: dict[str, str | Secret] = {}
        source = self.services.get(name)
        if source is not None:
            service_lines = self.files.sources.get(f"functions/{name}/service.yaml")
            for key, text in source.variables.items():
                if key in spec.variables:
                    continue
                value = self.parse(text, ("variables", key), allow_env=False, lines=service_lines,
                                   label=f"variables.{key} (in environment {self.name!r})")
                if value is not None:
                    variables[key] = self.finish(value, ("variables", key), service_lines)
        for key, raw in spec.variables.items():
            path = base + ("variables", key)
            if not NAME.fullmatch(key):
                self.fail(path, f"services.{name}.variables: invalid variable name {key!r}")
                continue
            value = self.parse(raw, path)
            if value is not None:
                variables[key] = self.finish(value, path)
        return ServiceEnvironment(environment=spec.environment, domain_suffix=spec.domain_suffix, variables=variables)
