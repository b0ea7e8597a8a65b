"""A local Twilio API for twideploy: Studio v2, Serverless v1 and Api v2010 numbers.

Only the CLI and the tests import this package; the engine reaches the emulator through
the twilio SDK with its base URLs pointed at `Emulator.base_url`. The web stack (Flask)
is imported only when the emulator runs: `Emulator` is loaded on first use, so the CLI
and an external-emulator environment start without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twideploy.emulator.faults import FaultConfig
from twideploy.emulator.sids import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, account_sid_for

if TYPE_CHECKING:
    from twideploy.emulator.server import Emulator

__all__ = ["DEFAULT_ACCOUNT_SID", "DEFAULT_AUTH_TOKEN", "Emulator", "FaultConfig", "account_sid_for"]


def __getattr__(name: str) -> Any:
    if name == "Emulator":
        from twideploy.emulator.server import Emulator

        return Emulator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
