"""How long the emulator takes to seed phone numbers, by account size.

    python bench/seed_numbers.py [--sizes 1000,2000,4000,8000]

For each size N, a fresh emulator on a temporary SQLite file: seeds N numbers through
`POST /_admin/numbers` (what an environment with `target: emulator` does against an external
emulator), then the same N again (a re-run: every number exists already). Seeding that
scans the account per number grows with N squared; indexed, it grows with N.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import requests

from twideploy.emulator import Emulator


def seed(base_url: str, numbers: list[str]) -> float:
    started = time.perf_counter()
    response = requests.post(f"{base_url}/_admin/numbers", json=numbers, timeout=600)
    response.raise_for_status()
    assert len(response.json()) == len(numbers)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,2000,4000,8000", help="comma-separated numbers of numbers")
    sizes = [int(size) for size in parser.parse_args().sizes.split(",")]
    print(f"{'numbers':>8}  {'first seed':>10}  {'re-seed':>8}  {'per 1,000 (first)':>17}")
    for size in sizes:
        numbers = [f"+1500{i:07d}" for i in range(size)]
        with tempfile.TemporaryDirectory() as tmp, Emulator(Path(tmp) / "emulator.sqlite") as emu:
            first = seed(emu.base_url, numbers)
            again = seed(emu.base_url, numbers)
        print(f"{size:>8}  {first:>9.2f}s  {again:>7.2f}s  {first / size * 1000:>16.3f}s")


if __name__ == "__main__":
    main()
