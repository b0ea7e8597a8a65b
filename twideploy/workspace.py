"""An environment opened for work: its project, its account (gateway) and its state folder.

For `target: emulator` the local Twilio emulator is started in-process (database under
`.twideploy/emulator/`), seeded with the numbers the environment binds, and reached
through the same SDK and gateway as a real account. `TWIDEPLOY_EMULATOR_URL` points an
emulator environment at an emulator that is already running (`twideploy emulator serve`);
`TWIDEPLOY_EMULATOR_ACCOUNT_SID` / `TWIDEPLOY_EMULATOR_AUTH_TOKEN` override the account
and token (by default the environment's own account SID and the emulator's default token).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from twideploy.errors import ManifestError, TwideployError
from twideploy.manifest import Environment, Project, load_project
from twideploy.manifest.validation import validate_project
from twideploy.secrets import Secret
from twideploy.state import plan_key
from twideploy.state.account_store import AccountStore
from twideploy.state.cache import ContentCache
from twideploy.state.local_store import LocalStore
from twideploy.state.paths import StatePaths
from twideploy.state.store import StateStore
from twideploy.twilio_api.gateway import DEFAULT_CONCURRENCY, Credentials, Gateway


@dataclass
class Workspace:
    project: Project
    env: Environment
    gateway: Gateway

    @property
    def paths(self) -> StatePaths:
        return StatePaths(self.project.root)

    @cached_property
    def store(self) -> StateStore:
        """Where the environment's journals, lock and content hashes live (its `state:` setting)."""
        if self.env.state == "account":
            return AccountStore(self.gateway, self.env.name, self.paths)
        return LocalStore(self.paths, self.env.name, self.gateway.account_sid)

    def content_cache(self) -> ContentCache:
        return self.store.content_cache()

    def plan_key(self) -> bytes:
        """The key of the HMACs in plan fingerprints (see state.plan_key)."""
        return plan_key.load_or_create(self.paths.plan_key)


@contextmanager
def open_workspace(root: Path, env_name: str | None, *, concurrency: int = DEFAULT_CONCURRENCY) -> Iterator[Workspace]:
    project = load_project(root)
    env = project.environment(project.default_environment if env_name is None else env_name)  # --env "" is no default
    errors = [p for p in validate_project(project, [env.name]) if p.severity == "error"]
    if errors:  # nothing reaches the account from manifests that `validate` rejects
        raise ManifestError(errors)
    with open_account(project, env, concurrency=concurrency) as gateway:
        yield Workspace(project, env, gateway)


@contextmanager
def open_account(project: Project, env: Environment, *, concurrency: int = DEFAULT_CONCURRENCY) -> Iterator[Gateway]:
    if env.target != "emulator":
        yield Gateway(env.credentials(), concurrency=concurrency)
        return
    from twideploy import emulator  # only emulator environments need it; the engine never does

    # The emulator gives every account SID its own isolated account, so environments that
    # share one emulator (e.g. staging and prod in a promote) still are different accounts.
    account_sid = (os.environ.get("TWIDEPLOY_EMULATOR_ACCOUNT_SID") or env.emulator_account_sid
                   or emulator.account_sid_for(env.name))
    external = os.environ.get("TWIDEPLOY_EMULATOR_URL")
    if external:
        token = os.environ.get("TWIDEPLOY_EMULATOR_AUTH_TOKEN", emulator.DEFAULT_AUTH_TOKEN)
        _seed(external, account_sid, list(env.numbers))
        yield Gateway(Credentials(account_sid, account_sid, Secret(token)), base_url=external,
                      concurrency=concurrency)
        return
    db = StatePaths(project.root).emulator_db(env.name)
    db.parent.mkdir(parents=True, exist_ok=True)
    with emulator.Emulator(db, account_sid=account_sid) as emu:
        emu.seed_numbers(list(env.numbers))
        yield Gateway(Credentials(account_sid, account_sid, Secret(emu.auth_token)), base_url=emu.base_url,
                      concurrency=concurrency)


def _seed(base_url: str, account_sid: str, numbers: list[str]) -> None:
    """Seed an external emulator's account with the environment's numbers (its admin endpoint)."""
    import requests

    if not numbers:
        return
    try:
        response = requests.post(f"{base_url.rstrip('/')}/_admin/numbers",
                                 json={"numbers": numbers, "account_sid": account_sid}, timeout=10)
    except requests.RequestException as error:
        raise TwideployError(f"the emulator at TWIDEPLOY_EMULATOR_URL={base_url} did not answer: {error}") \
            from error
    if response.status_code >= 400:  # it answered: say what it said
        try:
            body = response.json()
        except ValueError:
            body = None
        detail = body.get("message") if isinstance(body, dict) else None
        message = str(detail) if detail else response.text
        raise TwideployError(f"the emulator at TWIDEPLOY_EMULATOR_URL={base_url} refused to seed the numbers "
                             f"of {account_sid}: HTTP {response.status_code}: {message.strip()}")
