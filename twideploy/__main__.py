"""`python -m twideploy` is the `twideploy` command."""

from twideploy.cli.main import cli

cli()
