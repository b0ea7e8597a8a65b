"""The content cache: immutable thing -> sha256 of its content, kept in `.twideploy/cache/`."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


class ContentCache:
    """Immutable thing -> sha256 of its content (one file per account, see StatePaths.content_cache).

    Keys are function/asset version SIDs and flow revisions (`FW...@7`): Twilio never
    changes either once made, so an entry never goes stale. It spares a plan the fetches
    of content that cannot have changed; it never holds content itself (flows may carry
    secret values).
    """

    def __init__(self, path: Path | None):
        self.path = path
        self.hashes: dict[str, str] = {}
        if path and path.exists():
            try:
                self.hashes = json.loads(path.read_text())
            except ValueError:  # e.g. cut short by a killed run before saves were atomic: only a cache
                self.hashes = {}

    def save(self) -> None:
        """Write a new file and rename it over the old one: a run killed meanwhile (apply saves
        right after its last write) leaves the old cache or the new, never half of one."""
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps(self.hashes, indent=0, sort_keys=True))
            os.replace(temporary, self.path)
