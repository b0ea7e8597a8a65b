"""The `twideploy` command: a thin click layer over the library."""

from __future__ import annotations

import click

from twideploy import __version__
from twideploy.cli.apply import apply
from twideploy.cli.common import TwideployGroup
from twideploy.cli.drift import drift
from twideploy.cli.emulator import emulator
from twideploy.cli.envs import envs
from twideploy.cli.export import export
from twideploy.cli.graph import graph
from twideploy.cli.history import history
from twideploy.cli.init import init
from twideploy.cli.plan import plan
from twideploy.cli.preview import preview
from twideploy.cli.promote import promote
from twideploy.cli.rollback import rollback
from twideploy.cli.schema import schema
from twideploy.cli.state import state
from twideploy.cli.test import test
from twideploy.cli.validate import validate


@click.group(cls=TwideployGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="twideploy")
def cli() -> None:
    """Infrastructure-as-code for Twilio Studio flows, Functions and phone numbers."""


# Each command lives in its own module under twideploy/cli/; listed in the order of a workflow.
for command in (init, validate, schema, test, plan, apply, preview, rollback, history, state, drift, export, promote,
                envs, graph, emulator):
    cli.add_command(command)
