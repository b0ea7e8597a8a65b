"""A local Twilio API for twideploy: Studio v2, Serverless v1 and Api v2010 numbers.

Only the CLI and the tests import this package; the engine reaches the emulator through
the twilio SDK with its base URLs pointed at `Emulator.base_url`.
"""

from twideploy.emulator.app import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN
from twideploy.emulator.faults import FaultConfig
from twideploy.emulator.server import Emulator
from twideploy.emulator.sids import account_sid_for

__all__ = ["DEFAULT_ACCOUNT_SID", "DEFAULT_AUTH_TOKEN", "Emulator", "FaultConfig", "account_sid_for"]
