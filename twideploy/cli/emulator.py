"""`twideploy emulator serve`: the local Twilio emulator in the foreground."""

from __future__ import annotations

import threading
from pathlib import Path

import click

from twideploy.emulator import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, FaultConfig
from twideploy.state.paths import STATE_DIR


@click.group()
def emulator() -> None:
    """The local Twilio emulator (Studio, Serverless, phone numbers)."""


@emulator.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8089, show_default=True, help="0 picks a free port.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path(STATE_DIR) / "emulator.sqlite", show_default=True, help="SQLite state file.")
@click.option("--account-sid", default=DEFAULT_ACCOUNT_SID, show_default=True,
              help="Default account (API keys and admin requests act for it).")
@click.option("--auth-token", default=DEFAULT_AUTH_TOKEN, show_default=True)
@click.option("--latency-ms", type=float, default=0, show_default=True, help="Delay added to every request.")
@click.option("--jitter-ms", type=float, default=0, show_default=True, help="Plus a random delay up to this.")
@click.option("--rate-429", type=float, default=0, show_default=True, help="Share of requests answered 429.")
@click.option("--retry-after", type=float, default=1.0, show_default=True, help="Retry-After of a 429, seconds.")
@click.option("--rate-5xx", type=float, default=0, show_default=True, help="Share answered 500 or 503.")
@click.option("--rate-drop", type=float, default=0, show_default=True,
              help="Share whose connection is closed without an answer.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the fault dice.")
@click.option("--fail-nth-write", type=int, default=None, help="The Nth POST/DELETE answers 500, changing nothing.")
@click.option("--seed-number", "numbers", multiple=True, metavar="E164",
              help="A phone number the account owns (repeatable).")
@click.option("--log-requests/--no-log-requests", default=True, show_default=True)
def serve(host, port, db_path, account_sid, auth_token, latency_ms, jitter_ms, rate_429, retry_after,
          rate_5xx, rate_drop, seed, fail_nth_write, numbers, log_requests):
    """Run the emulator until interrupted (Ctrl-C); state persists in --db."""
    try:
        faults = FaultConfig(seed=seed, latency_ms=latency_ms, jitter_ms=jitter_ms, rate_429=rate_429,
                             retry_after_s=retry_after, rate_5xx=rate_5xx, rate_drop=rate_drop,
                             fail_nth_write=fail_nth_write)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    from twideploy.emulator import Emulator  # the web stack loads only when the emulator runs

    emu = Emulator(db_path, account_sid=account_sid, auth_token=auth_token, faults=faults,
                   host=host, port=port, log_requests=log_requests)
    base_url = emu.start()
    try:
        if numbers:
            emu.seed_numbers(list(numbers))
        click.echo(f"""Twilio emulator listening on {base_url}  (state: {db_path})
  account SID: {account_sid}   (any AC... SID works too, as its own account)
  auth token:  {auth_token}

twideploy:  TWIDEPLOY_EMULATOR_URL={base_url} twideploy plan --env <an environment with target: emulator>
twilio SDK: client = Client("{account_sid}", "{auth_token}")
            for domain in (client.studio, client.serverless, client.api):
                domain.base_url = "{base_url}"
            (uploads: POST {base_url}/v1/Services/ZS.../Functions/ZH.../Versions)
admin:      {base_url}/_admin/faults | numbers | flows/FW.../console-edit | reset | stats
Ctrl-C to stop.""")
        threading.Event().wait()
    except KeyboardInterrupt:
        click.echo("stopping")
    finally:
        emu.stop()
