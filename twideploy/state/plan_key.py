"""The plan key: the local secret that keys the HMACs of variable values in plan fingerprints.

It lives in `.twideploy/plan-key` (0600) and never goes into a plan file, so a plan alone
gives no variable value away; a plan names its key by `key_id` only.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
from pathlib import Path


def load_or_create(path: Path) -> bytes:
    """The key at `path`, made on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, made = tempfile.mkstemp(dir=path.parent)  # 0600
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
        try:
            os.link(made, path)  # atomic: a run that made one first wins, and everyone reads that one
        except FileExistsError:
            pass
        finally:
            os.unlink(made)
    return path.read_bytes()


def key_id(key: bytes) -> str:
    """Names a plan key without revealing it."""
    return hashlib.sha256(b"twideploy plan key id\0" + key).hexdigest()[:16]
