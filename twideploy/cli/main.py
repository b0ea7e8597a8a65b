"""The `twideploy` command: a thin click layer over the library."""

from __future__ import annotations

import click

from twideploy import __version__
from twideploy.cli.common import TwideployGroup


@click.group(cls=TwideployGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="twideploy")
def cli() -> None:
    """Infrastructure-as-code for Twilio Studio flows, Functions and phone numbers."""


# Each command lives in its own module under twideploy/cli/ and is registered here.

from twideploy.cli.apply import apply  # noqa: E402
from twideploy.cli.history import history  # noqa: E402
from twideploy.cli.plan import plan  # noqa: E402
from twideploy.cli.rollback import rollback  # noqa: E402

for command in (plan, apply, rollback, history):
    cli.add_command(command)

from twideploy.cli.envs import envs  # noqa: E402

cli.add_command(envs)

from twideploy.cli.emulator import emulator  # noqa: E402

cli.add_command(emulator)

from twideploy.cli.init import init  # noqa: E402
from twideploy.cli.schema import schema  # noqa: E402
from twideploy.cli.validate import validate  # noqa: E402

for command in (validate, schema, init):
    cli.add_command(command)

from twideploy.cli.drift import drift  # noqa: E402
from twideploy.cli.export import export  # noqa: E402
from twideploy.cli.promote import promote  # noqa: E402

for command in (drift, export, promote):
    cli.add_command(command)
