"""Every path under a project's state folder, `.twideploy/`, built in this one place.

```
.twideploy/
  journal/<env>/<deploy-id>.jsonl   deploy journals (see state.journal)
  locks/<env>.lock                  one writer per environment (see state.lock)
  cache/content-<account>.json      content hashes (see state.cache)
  cache/node/                       npm packages of the Functions `twideploy test` runs (flowtest)
  plan-key                          key of the plan fingerprints' HMACs (see state.plan_key)
  emulator/<env>.sqlite             the local emulator's database of an environment
```
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

STATE_DIR = ".twideploy"
JOURNAL_SUFFIX = ".jsonl"


@dataclass(frozen=True)
class StatePaths:
    """The state folder of the project at `project_root`."""

    project_root: Path

    @property
    def root(self) -> Path:
        return self.project_root / STATE_DIR

    @property
    def journals(self) -> Path:
        return self.root / "journal"

    def journal_folder(self, environment: str) -> Path:
        """Where the journals of one environment live (of every account it pointed at)."""
        return self.journals / environment

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    def lock(self, environment: str) -> Path:
        return self.locks / f"{environment}.lock"

    def content_cache(self, account_sid: str) -> Path:
        """Per account: SIDs of one account mean nothing in another."""
        return self.root / "cache" / f"content-{account_sid}.json"

    @property
    def node_cache(self) -> Path:
        """Where `twideploy test` installs npm packages; under `$TWIDEPLOY_CACHE_DIR` when set, so CI
        (or several checkouts) can keep one between runs."""
        shared = os.environ.get("TWIDEPLOY_CACHE_DIR")
        return (Path(shared) if shared else self.root / "cache") / "node"

    @property
    def plan_key(self) -> Path:
        return self.root / "plan-key"

    def emulator_db(self, environment: str) -> Path:
        return self.root / "emulator" / f"{environment}.sqlite"


def journal_file(folder: Path, deploy_id: str) -> Path:
    """One deploy's journal in an environment's journal folder."""
    return folder / f"{deploy_id}{JOURNAL_SUFFIX}"
