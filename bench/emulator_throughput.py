"""Flow fetches per second the emulator serves through the twilio SDK, sequential and threaded.

    python bench/emulator_throughput.py [--flows 50] [--requests 2000] [--threads 8]

Starts an in-process emulator on a temporary SQLite file, creates the flows, then fetches
them round-robin: once from one client, once from `--threads` threads with a client each.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import threading
import time
from pathlib import Path

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from twideploy.emulator import Emulator

DEFINITION = {
    "initial_state": "Trigger",
    "states": [{"name": "Trigger", "type": "trigger", "properties": {}, "transitions": [{"event": "incomingCall"}]}],
}


class _RedirectingHttpClient(TwilioHttpClient):
    def __init__(self, base_url: str):
        super().__init__()
        self.base_url = base_url

    def request(self, method, url, *args, **kwargs):
        return super().request(method, re.sub(r"^https://[a-z0-9.-]+\.twilio\.com", self.base_url, url),
                               *args, **kwargs)


def client_for(emu: Emulator) -> Client:
    return Client(emu.account_sid, emu.auth_token, http_client=_RedirectingHttpClient(emu.base_url))


def fetch_rate(emu: Emulator, sids: list[str], requests: int, threads: int) -> float:
    per_thread = requests // threads

    def work() -> None:
        client = client_for(emu)
        for i in range(per_thread):
            client.studio.v2.flows(sids[i % len(sids)]).fetch()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return per_thread * threads / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Emulator(Path(tmp) / "bench.sqlite") as emu:
        client = client_for(emu)
        started = time.perf_counter()
        sids = [client.studio.v2.flows.create(friendly_name=f"bench-{i}", status="published",
                                              definition=DEFINITION).sid for i in range(args.flows)]
        created = args.flows / (time.perf_counter() - started)
        sequential = fetch_rate(emu, sids, args.requests, 1)
        threaded = fetch_rate(emu, sids, args.requests, args.threads)
    print(f"flows created:      {args.flows} ({created:.0f}/s)")
    print(f"fetch, sequential:  {sequential:.0f} requests/s")
    print(f"fetch, {args.threads} threads:   {threaded:.0f} requests/s")


if __name__ == "__main__":
    main()
