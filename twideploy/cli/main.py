"""The `twideploy` command: a thin click layer over the library."""

from __future__ import annotations

import click

from twideploy import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="twideploy")
def cli() -> None:
    """Infrastructure-as-code for Twilio Studio flows, Functions and phone numbers."""


# Each command lives in its own module under twideploy/cli/ and is registered here.
