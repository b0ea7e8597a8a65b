"""Reliability campaign: seeded fault applies and SIGKILLed applies, each followed by what the
tool tells the user to run, each checked resource by resource against the live account.

    python -m reliability.campaign [--runs 200] [--kills 50] [--seed 1] [--latency-ms 0]
                                   [--parallelism 16] [--jobs 2] [--only N[,N...]] [--work-dir DIR] [--keep]
                                   [--state local|account]

Run from the repository root with the project's virtualenv. It starts `twideploy emulator
serve` (one per job: fault settings are per emulator) in processes of its own, on free
ports with fresh databases, then calibrates: deploys the example project (the
before-state), applies the change set of `changeset.py` (which edits every resource kind)
without faults and reads the after-state, counting the writes. Then each run, in a fresh
emulator account and a fresh copy of the example project:

1. deploys the example project (`twideploy apply`, in this process, no faults) and checks it
   reached the before-state; applies the change set to the copy on disk;
2. a fault run sets a seeded fault configuration on the emulator (`POST /_admin/faults`):
   random rates of 429, 5xx, dropped connections and lost responses; or one failing write
   among the apply's forward writes; or a failing forward write plus failing writes after it,
   in the rollback's undo writes (one, or a burst that outlasts retries); or a failing build.
   A kill run SIGKILLs the `twideploy apply` process (never the emulator): after its k-th
   journalled write, during the rollback that a failing write started, or at a random
   moment before its first write;
3. turns the faults off and does what a user would: after a kill, runs the same apply again;
   after a failure, runs the command the error message names (a `twideploy rollback` or
   `twideploy apply` in its stderr, given `--auto-approve` since nobody is at a terminal),
   again while each further failure names one, at most 4 times. When a failed apply names no
   command yet the account is not back at its before-state, that is recorded as a finding and
   `twideploy rollback --env local --auto-approve` is run in its place;
4. reads every resource of the account with the twilio SDK (`snapshot.py`) and checks each is
   at exactly its before- or its after-state; all at the after-state when the apply (or the
   apply a follow-up ran) succeeded, all at the before-state when the account was rolled back.

With `--state account` the example's `local` environment keeps its journals, lock and content
hashes in the emulator's Sync (`state: account`), with a lease of LEASE_SECONDS: its Sync
writes are writes the faults may hit too, and the apply run again after a kill waits for the
killed run's lease to expire (`--lock-timeout`), as its error tells a user to.

It prints one line per run, then the counts and every violation with its run number and
seed, and exits 1 when there was a violation (2 when the campaign itself could not run).
Everything a run chooses (its fault configuration and kill moment, its fault seed, its
account SID) comes from `--seed` and the run number, so `--only N` replays run N. Where a
fault lands can still move with timing: requests in flight together reach the emulator's
fault dice in varying order, and a kill lands after the chosen write plus a seeded delay.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from click.testing import CliRunner
from ruamel.yaml import YAML

from reliability.changeset import SUMMARY, apply_change_set
from reliability.snapshot import compare, read_account
from twideploy.cli.main import cli
from twideploy.state.paths import StatePaths

REPO = Path(__file__).resolve().parents[1]
PROJECT_FILES = ("twideploy.yaml", "environments", "flows", "functions")
ENV = "local"
AUTH_TOKEN = "campaign-auth-token"
MAX_FOLLOW_UPS = 4
_IN_PROCESS = threading.Lock()  # one in-process CLI run at a time: it sets os.environ
NAMED_COMMAND = re.compile(r"twideploy (?:rollback|apply)\b[^`\n()]*")
CLAIMS_FULL_ROLLBACK = "every change made was rolled back"
LOCAL_URL = re.compile(r"http://127\.0\.0\.1:\d+")
ANY_SID = re.compile(r"\b[A-Z]{2}[0-9a-f]{32}\b")
LEASE_SECONDS = 3  # under --state account: how long a killed apply's lease holds the environment


class CampaignError(Exception):
    """The campaign itself cannot go on (exit 2), as opposed to a violation it found."""


@dataclass
class Result:
    code: int
    out: str
    err: str

    def message(self) -> str:
        """The message: the `error:` line, else a traceback's last line (the exception), else the first."""
        lines = [line for line in (self.err or self.out).splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("error:")]
        if errors:
            return errors[-1]
        if not lines:
            return f"exit {self.code}, no output"
        return f"traceback: {lines[-1]}" if lines[0].startswith("Traceback") else lines[0]


@dataclass
class Calibration:
    before: dict[str, Any]
    after: dict[str, Any]
    writes: int  # POST/DELETE requests the emulator sees for the change set: fail_writes numbers these
    journal_writes: int  # writes the apply journals
    first_write_s: float  # from starting `twideploy apply` to its journal's first line
    seconds: float  # the whole apply


@dataclass(frozen=True)
class Kill:
    """When to SIGKILL the apply: after its `journalled`-th journalled write, once a write
    failed (`in_rollback`: it is undoing), or `at_s` seconds after it started; then `delay_s` on."""

    delay_s: float
    journalled: int | None = None
    in_rollback: bool = False
    at_s: float | None = None


@dataclass
class Run:
    index: int
    kind: str  # "fault" | "kill"
    plan: str  # what is done to the apply, in words
    faults: dict[str, Any]  # the emulator's fault configuration during the apply
    account_sid: str
    kill: Kill | None = None
    error: str | None = None  # the campaign itself failed in this run (exit 2)
    apply_error: str | None = None  # the faulted apply's error line, SIDs and the emulator's address left out
    outcome: str = ""
    commands: list[str] = field(default_factory=list)
    findings: list[tuple[str, str]] = field(default_factory=list)  # (what, details)
    violations: list[str] = field(default_factory=list)


class EmulatorProcess:
    """`twideploy emulator serve` in a process of its own, on a free port, with a fresh database."""

    def __init__(self, work: Path):
        work.mkdir()
        self.log = (work / "emulator.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "twideploy", "emulator", "serve", "--port", "0",
             "--db", str(work / "emulator.sqlite"), "--auth-token", AUTH_TOKEN, "--no-log-requests"],
            stdout=subprocess.PIPE, stderr=self.log, text=True, env={**child_env(), "PYTHONUNBUFFERED": "1"})
        banner = self.process.stdout.readline() if self.process.stdout else ""
        found = re.search(r"listening on (http://\S+)", banner)
        if not found:
            self.stop()
            raise CampaignError(f"`twideploy emulator serve` did not start: {banner.strip() or 'no output'} "
                                f"(see {work / 'emulator.log'})")
        self.base_url = found.group(1)
        self.db = work / "emulator.sqlite"

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(method, f"{self.base_url}/_admin/{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    def set_faults(self, config: dict[str, Any]) -> None:
        self.admin("POST", "faults", config)

    def stats(self) -> dict[str, Any]:
        return self.admin("GET", "stats")

    def settle(self, timeout: float = 10) -> None:
        """Wait until no request is in flight: a killed client's last request still lands."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = self.stats()
            unanswered = s["faults"].get("drop", 0) + s["faults"].get("lost_response", 0)
            if sum(s["by_method"].values()) - sum(s["by_status"].values()) - unanswered <= 0:
                return
            time.sleep(0.01)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()
        self.log.close()


@dataclass
class Templates:
    """The example project as it is (the before-state) and with the change set made (after)."""

    before: Path
    after: Path
    secret_keys: set[str]

    @classmethod
    def make(cls, work: Path, state: str) -> Templates:
        before, after = work / "template", work / "template-changed"
        before.mkdir()
        for name in PROJECT_FILES:
            source = REPO / name
            (shutil.copytree if source.is_dir() else shutil.copy)(source, before / name)
        if state != "local":
            environment = before / "environments" / f"{ENV}.yaml"
            yaml = YAML()
            data = yaml.load(environment.read_text())
            data["state"] = state
            yaml.dump(data, environment)
        shutil.copytree(before, after)
        apply_change_set(after)
        return cls(before, after, _secret_keys(before) | _secret_keys(after))


class Campaign:
    """Runs on one emulator, one after another (`--jobs` runs several, each with its own)."""

    def __init__(self, args: argparse.Namespace, work: Path, templates: Templates, emulator: EmulatorProcess):
        self.args, self.work, self.templates, self.emulator = args, work, templates, emulator
        self.quiet = {"latency_ms": args.latency_ms}  # "faults off": only the latency asked for

    # -- plumbing ------------------------------------------------------------------------------

    def env(self, account_sid: str) -> dict[str, str]:
        return {**child_env(), "TWIDEPLOY_EMULATOR_URL": self.emulator.base_url,
                "TWIDEPLOY_EMULATOR_ACCOUNT_SID": account_sid, "TWIDEPLOY_EMULATOR_AUTH_TOKEN": AUTH_TOKEN,
                "TWIDEPLOY_LEASE_SECONDS": str(LEASE_SECONDS), "TWIDEPLOY_PARALLELISM": str(self.args.parallelism)}

    @property
    def in_account(self) -> bool:
        return self.args.state == "account"

    def journal_watch(self, root: Path, account_sid: str) -> JournalWatch | SyncJournalWatch:
        return SyncJournalWatch(self.emulator.db, account_sid) if self.in_account else JournalWatch(root)

    def twideploy(self, root: Path, account_sid: str, *args: str) -> Result:
        done = subprocess.run([sys.executable, "-m", "twideploy", *args], cwd=root, env=self.env(account_sid),
                              capture_output=True, text=True, timeout=600)
        return Result(done.returncode, done.stdout, done.stderr)

    def apply_command(self) -> list[str]:
        return [sys.executable, "-m", "twideploy", "apply", "--env", ENV, "--auto-approve"]

    def read(self, account_sid: str) -> dict[str, Any]:
        return read_account(self.emulator.base_url, account_sid, AUTH_TOKEN, self.templates.secret_keys)

    def fresh_project(self, name: str, account_sid: str) -> tuple[Path, dict[str, Any]]:
        """A copy of the example project deployed to a fresh account: its folder and its live state.

        This deploy is not under test, so it runs the CLI in this process (one Python start
        less per run); the CLI reads its emulator from os.environ, hence the lock."""
        root = self.work / name
        shutil.copytree(self.templates.before, root)
        self.emulator.set_faults(self.quiet)
        with _IN_PROCESS:
            invoked = CliRunner().invoke(cli, ["apply", "--env", ENV, "--auto-approve", "--project-dir", str(root)],
                                         env=self.env(account_sid))
        result = Result(invoked.exit_code, invoked.output, "")
        if result.code != 0:
            raise CampaignError(f"{name}: deploying the example project without faults failed: {result.message()}")
        return root, self.read(account_sid)

    def change(self, root: Path) -> None:
        for name in PROJECT_FILES:
            target = root / name
            shutil.rmtree(target) if target.is_dir() else target.unlink()
            source = self.templates.after / name
            (shutil.copytree if source.is_dir() else shutil.copy)(source, target)

    # -- calibration -----------------------------------------------------------------------------

    def calibrate(self) -> Calibration:
        account_sid = account_sid_for(self.args.seed, "calibration")
        root, before = self.fresh_project("calibration", account_sid)
        self.change(root)
        writes_before = self.emulator.stats()["writes"]
        journal = self.journal_watch(root, account_sid)
        started = time.monotonic()
        process = subprocess.Popen(self.apply_command(), cwd=root, env=self.env(account_sid),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        first_write_s = None
        while process.poll() is None:
            if first_write_s is None and journal.started():
                first_write_s = time.monotonic() - started
            time.sleep(0.002)
        seconds = time.monotonic() - started
        _, err = process.communicate()
        if process.returncode != 0:
            raise CampaignError(f"the change set does not apply without faults: {err.strip()}")
        writes = self.emulator.stats()["writes"] - writes_before
        after = self.read(account_sid)
        again = self.twideploy(root, account_sid, "plan", "--env", ENV, "--detailed-exitcode")
        if again.code != 0:
            raise CampaignError(f"after applying the change set, plan still shows changes: {again.out.strip()}")
        untouched = [kind for kind in ("flow", "function", "asset", "build", "variable", "number")
                     if kind not in touched_kinds(before, after)]
        if untouched:
            raise CampaignError(f"the change set touches no {', '.join(untouched)}")
        return Calibration(before, after, writes, journal.done(), first_write_s or seconds, seconds)

    # -- one run ---------------------------------------------------------------------------------

    def choose(self, index: int, cal: Calibration) -> Run:
        """Everything run `index` does, from the seed and the index alone."""
        rng = random.Random(f"{self.args.seed}/{index}")
        faults: dict[str, Any] = {**self.quiet, "seed": rng.randrange(2 ** 31)}
        kind = "fault" if index < self.args.runs else "kill"
        run = Run(index, kind, "", faults, account_sid_for(self.args.seed, index))
        w = cal.writes
        if run.kind == "kill":
            mode = rng.choices(["write", "rollback", "early"], weights=[6, 3, 1])[0]
            if mode == "write":
                n = rng.randint(0, cal.journal_writes)
                run.kill = Kill(rng.uniform(0, 0.02), journalled=n)
                run.plan = f"kill after journalled write {n}/{cal.journal_writes}"
            elif mode == "rollback":
                faults["fail_writes"] = [rng.randint(4, w)]
                run.kill = Kill(rng.uniform(0, 0.06), in_rollback=True)
                run.plan = f"write {faults['fail_writes'][0]}/{w} fails, kill in the rollback"
            else:
                run.kill = Kill(0, at_s=rng.uniform(0, cal.first_write_s))
                run.plan = f"kill {run.kill.at_s:.3f} s after start"
            return run
        mode = rng.choices(["rates", "write", "undo", "build"], weights=[4, 3, 3, 1])[0]
        if mode == "rates":
            rates = {"rate_429": 0.08, "rate_5xx": 0.08, "rate_drop": 0.04, "rate_lost_response": 0.03}
            faults.update({k: round(rng.uniform(0, top), 3) for k, top in rates.items()}, retry_after_s=0.05)
            run.plan = "rates " + " ".join(f"{k[5:]}={faults[k]:.3f}" for k in rates)
        elif mode == "write":
            faults["fail_writes"] = [rng.randint(1, w)]
            run.plan = f"write {faults['fail_writes'][0]}/{w} fails"
        elif mode == "undo":  # a forward write fails, then one or more of the undo writes after it
            n = rng.randint(2, w)
            undo = n + rng.randint(1, n - 1)
            faults["fail_writes"] = [n, *range(undo, undo + rng.choice([1, 3, 10]))]
            run.plan = f"write {n}/{w} fails, then {_writes(faults['fail_writes'][1:])}"
        else:
            faults["fail_next_build"] = True
            run.plan = "the build fails"
            if rng.random() < 0.5:
                first = rng.randint(1, w)
                faults["fail_writes"] = list(range(first, first + rng.choice([1, 3, 10])))
                run.plan += f", and {_writes(faults['fail_writes'])}"
        return run

    def run(self, run: Run, cal: Calibration) -> None:
        root, before = self.fresh_project(f"run-{run.index:04d}", run.account_sid)
        baseline = compare(before, cal.before, cal.before, "before")
        if baseline:
            run.violations += ["the example project's deploy did not reach the before-state: " + p for p in baseline]
            run.outcome = "bad baseline"
            return
        self.change(root)
        self.emulator.set_faults(run.faults)
        result: Result | None
        if run.kill is None:
            result = self.twideploy(root, run.account_sid, "apply", "--env", ENV, "--auto-approve")
        else:
            result = self.kill(root, run, run.kill)
        self.emulator.set_faults(self.quiet)
        if result is None:  # killed: the user runs the same command again (waiting out its lease)
            wait = ["--lock-timeout", str(3 * LEASE_SECONDS)] if self.in_account else []
            run.commands.append(shlex.join(["twideploy", "apply", "--env", ENV, "--auto-approve", *wait]))
            result = self.twideploy(root, run.account_sid, "apply", "--env", ENV, "--auto-approve", *wait)
        elif result.code != 0:
            run.apply_error = ANY_SID.sub("…", LOCAL_URL.sub("EMULATOR", result.message()))
        expect: str | None
        if result.code == 0:
            expect = "after"
            run.outcome = "re-run apply completed" if run.commands else "applied"
        else:
            expect = self.follow(root, run, result, before)
        live = self.read(run.account_sid)
        run.violations += compare(live, cal.before, cal.after, expect)

    def kill(self, root: Path, run: Run, kill: Kill) -> Result | None:
        """Start apply and SIGKILL it at the chosen moment; its Result if it finished first."""
        journal = self.journal_watch(root, run.account_sid)
        failed_writes = self.emulator.stats()["faults"].get("nth_write", 0)
        started = time.monotonic()
        process = subprocess.Popen(self.apply_command(), cwd=root, env=self.env(run.account_sid),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while process.poll() is None:
            if kill.at_s is not None and time.monotonic() - started >= kill.at_s:
                break
            if kill.journalled is not None and journal.started() and journal.done() >= kill.journalled:
                break
            if kill.in_rollback and self.emulator.stats()["faults"].get("nth_write", 0) > failed_writes:
                break
            time.sleep(0.002)
        time.sleep(kill.delay_s)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.communicate()
            self.emulator.settle()
            return None
        out, err = process.communicate()
        run.plan += " (apply finished first)"
        return Result(process.returncode, out, err)

    def follow(self, root: Path, run: Run, failed: Result, before: dict[str, Any]) -> str | None:
        """Do what the failure says; the state to expect then ("before", "after", or None when stuck)."""
        result = failed
        for _ in range(MAX_FOLLOW_UPS):
            command = named_command(result.err)
            if command is None:
                break
            if "--auto-approve" not in command:
                command.append("--auto-approve")
            run.commands.append(shlex.join(command))
            result = self.twideploy(root, run.account_sid, *command[1:])
            if result.code == 0:
                run.outcome = f"needed {command[1]}"
                return "before" if command[1] == "rollback" else "after"
        else:
            run.outcome = "stuck"
            run.violations.append(f"still failing after {MAX_FOLLOW_UPS} commands the tool named: {result.message()}")
            return None
        if result is not failed:
            run.outcome = "stuck"
            run.violations.append(f"`{run.commands[-1]}` failed and named no command to run: {result.message()}")
            return None
        left = compare(self.read(run.account_sid), before, before, "before")
        if not left:
            run.outcome = "rolled back by apply" if run.kind == "fault" else "re-run apply rolled back"
            return "before"
        if CLAIMS_FULL_ROLLBACK in failed.err:
            run.violations.append(f"apply said '{CLAIMS_FULL_ROLLBACK}' but {len(left)} resource(s) were not "
                                  f"at their before-state, e.g. {left[0]}")
        run.findings.append(("a failed apply left resources changed and named no command to run",
                             f"{len(left)} resource(s) changed; it said: {failed.message()}"))
        fallback = ["twideploy", "rollback", "--env", ENV, "--auto-approve"]
        run.commands.append(shlex.join(fallback) + "  (fallback)")
        result = self.twideploy(root, run.account_sid, *fallback[1:])
        if result.code != 0:
            run.outcome = "stuck"
            run.violations.append(f"the fallback `{shlex.join(fallback)}` failed: {result.message()}")
            return None
        run.outcome = "needed fallback rollback"
        return "before"


class JournalWatch:
    """The journal a new apply writes in `root` (not the ones already there)."""

    def __init__(self, root: Path):
        self.folder = StatePaths(root).journal_folder(ENV)
        self.earlier = set(self.folder.glob("*.jsonl")) if self.folder.exists() else set()
        self.file: Path | None = None

    def started(self) -> bool:
        if self.file is None and self.folder.exists():
            self.file = next((f for f in self.folder.glob("*.jsonl") if f not in self.earlier), None)
        return self.file is not None

    def done(self) -> int:
        return self.file.read_text().count('"type": "done"') if self.started() and self.file else 0


class SyncJournalWatch:
    """The journal a new apply writes to the account's Sync (`--state account`), read straight from
    the emulator's database (read-only, every 10 ms at most) so that watching it is no request the
    faults could hit."""

    DEPLOY_BLOCK = re.compile(r"^(\d{8}-\d{9}-[0-9a-f]{4})\.\d{4}$")

    def __init__(self, db: Path, account_sid: str):
        self.db, self.account_sid = db, account_sid
        self.earlier = set(self._texts())
        self.deploy_id: str | None = None
        self.count, self.read_at = 0, 0.0

    def _texts(self) -> dict[str, str]:
        """Deploy id -> its journal's text, of every journal in the account."""
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10) as db:
            rows = db.execute("SELECT json_extract(data, '$.key'), json_extract(data, '$.data.text') FROM resources "
                              "WHERE kind = 'sync_map_item' AND account_sid = ? ORDER BY json_extract(data, '$.key')",
                              (self.account_sid,)).fetchall()
        texts: dict[str, str] = {}
        for key, text in rows:
            found = self.DEPLOY_BLOCK.match(str(key))
            if found:
                texts[found[1]] = texts.get(found[1], "") + str(text)
        return texts

    def _refresh(self) -> None:
        if time.monotonic() - self.read_at < 0.01:
            return
        self.read_at = time.monotonic()
        new = {k: v for k, v in self._texts().items() if k not in self.earlier}
        if new:
            self.deploy_id = self.deploy_id or min(new)
            self.count = new[self.deploy_id].count('"type": "done"')

    def started(self) -> bool:
        self._refresh()
        return self.deploy_id is not None

    def done(self) -> int:
        self._refresh()
        return self.count


def named_command(stderr: str) -> list[str] | None:
    """The command an error tells the user to run: a rollback if it names one, else its last apply."""
    found = [shlex.split(m.group(0).strip().rstrip(".,;:")) for m in NAMED_COMMAND.finditer(stderr)]
    rollbacks = [c for c in found if c[1] == "rollback"]
    if rollbacks:
        return rollbacks[0]
    return found[-1] if found else None


def _writes(numbers: list[int]) -> str:
    return f"write {numbers[0]}" if len(numbers) == 1 else f"writes {numbers[0]}-{numbers[-1]}"


def child_env() -> dict[str, str]:
    """The environment of every process the campaign starts: the twideploy of this checkout
    (ahead of an installed one), so a copy of the repository tests its own code."""
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


def touched_kinds(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    """The resource kinds whose state differs between two snapshots."""
    kinds: set[str] = set()
    for key in (k for k in set(before) | set(after) if before.get(k) != after.get(k)):
        words = key.split()
        kinds |= {kind for kind in ("flow", "function", "asset", "build", "variable", "number") if kind in words}
        if key.endswith(" build"):
            was, now = before.get(key) or {}, after.get(key) or {}
            kinds |= {kind[:-1] for kind in ("functions", "assets") if was.get(kind) != now.get(kind)}
    return kinds


def account_sid_for(seed: int, run: int | str) -> str:
    return "AC" + hashlib.sha256(f"reliability campaign {seed} {run}".encode()).hexdigest()[:32]


def _secret_keys(root: Path) -> set[str]:
    """Variables written `{secret: ...}` in any environment or service file: never printed."""
    yaml, keys = YAML(), set()
    for path in [*root.glob("environments/*.yaml"), *root.glob("functions/*/service.yaml")]:
        data = yaml.load(path.read_text()) or {}
        services = (data.get("services") or {}).values()
        sections = [data.get("variables") or {}] + [s.get("variables") or {} for s in services]
        keys |= {k for section in sections for k, v in section.items() if isinstance(v, dict) and "secret" in v}
    return keys


def report(runs: list[Run], cal: Calibration, seconds: float, seed: int) -> None:
    faults = [r for r in runs if r.kind == "fault"]
    kills = [r for r in runs if r.kind == "kill"]
    outcomes = Counter(r.outcome for r in runs)
    bad = [r for r in runs if r.violations]
    print(f"\nruns: {len(runs)} (fault applies: {len(faults)}, kills: {len(kills)}) in {seconds:.0f} s "
          f"({seconds / max(1, len(runs)):.1f} s a run; one clean apply of the change set: {cal.seconds:.2f} s, "
          f"{cal.writes} writes)")
    for label, group in (("fault applies", faults), ("kills", kills)):
        if group:
            counts = Counter(r.outcome for r in group)
            print(f"  {label}: " + ", ".join(f"{n} {outcome}" for outcome, n in counts.most_common()))
    print(f"succeeded: {outcomes['applied'] + outcomes['re-run apply completed']}; "
          f"rolled back by apply itself: {outcomes['rolled back by apply'] + outcomes['re-run apply rolled back']}; "
          f"needed the follow-up command: {sum(1 for r in runs if r.outcome.startswith('needed'))} "
          f"(named by the tool: {outcomes['needed rollback'] + outcomes['needed apply']}, "
          f"fallback because none was named: {outcomes['needed fallback rollback']})")
    errors = Counter(r.apply_error for r in runs if r.apply_error)
    if errors:
        print("why the faulted applies failed:")
        for message, n in errors.most_common():
            print(f"  {n:4d}  {message}")
    findings = Counter(what for r in runs for what, _ in r.findings)
    for finding, n in findings.most_common():
        print(f"finding ({n} runs): {finding}")
    print(f"violations: {len(bad)} run(s)")
    for r in (r for r in runs if r.error):
        print(f"CAMPAIGN ERROR run {r.index} (--seed {seed} --only {r.index}), {r.kind}: {r.plan}: {r.error}")
    for r in bad:
        print(f"\nVIOLATION run {r.index} (--seed {seed} --only {r.index}), {r.kind}: {r.plan}; outcome: {r.outcome}")
        print(f"  faults: {r.faults}" + (f"; kill {r.kill.delay_s * 1000:.1f} ms after that moment" if r.kill else ""))
        for command in r.commands:
            print(f"  ran: {command}")
        for what, details in r.findings:
            print(f"  finding: {what}: {details}")
        for violation in r.violations:
            print(f"  - {violation}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200, help="seeded fault applies")
    parser.add_argument("--kills", type=int, default=50, help="SIGKILLed applies")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=0, help="added to every emulator request")
    parser.add_argument("--parallelism", type=int, default=16,
                        help="requests in flight at most of the applies and rollbacks under test (1: one at a time)")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time, each pair on an emulator of its own")
    parser.add_argument("--only", help="comma-separated run numbers to replay (with the same --seed)")
    parser.add_argument("--work-dir", type=Path, help="default: a new temporary folder")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (projects, journals, emulator db)")
    parser.add_argument("--state", choices=["local", "account"], default="local",
                        help="where the example's local environment keeps its journals and lock (`state:`)")
    args = parser.parse_args(argv)
    indexes = [int(i) for i in args.only.split(",")] if args.only else list(range(args.runs + args.kills))
    work = Path(tempfile.mkdtemp(prefix="twideploy-campaign-", dir=args.work_dir))
    runs: list[Run] = []
    started = time.monotonic()
    emulators: list[EmulatorProcess] = []
    try:
        templates = Templates.make(work, args.state)
        for n in range(max(1, min(args.jobs, len(indexes)))):
            emulators.append(EmulatorProcess(work / f"emulator-{n}"))
        campaigns = [Campaign(args, work, templates, emulator) for emulator in emulators]
        print(f"{len(emulators)} emulator(s) at {', '.join(e.base_url for e in emulators)}, work folder {work}, "
              f"parallelism {args.parallelism}\n"
              f"change set:\n  " + "\n  ".join(SUMMARY), flush=True)
        cal = campaigns[0].calibrate()
        print(f"calibrated: the change set makes {cal.writes} writes ({cal.journal_writes} journalled), "
              f"{len(cal.before)} resources before, {len(cal.after)} after\n", flush=True)
        runs = run_all(campaigns, indexes, cal)
        report(runs, cal, time.monotonic() - started, args.seed)
    except CampaignError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        for emulator in emulators:
            emulator.stop()
        if args.keep or any(r.violations or r.error for r in runs):
            print(f"\nwork folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if any(r.error for r in runs):
        return 2
    return 1 if any(r.violations for r in runs) else 0


def run_all(campaigns: list[Campaign], indexes: list[int], cal: Calibration) -> list[Run]:
    """Every run, each campaign (emulator) taking the next one when it is free; sorted by number."""
    pending, lock = iter(indexes), threading.Lock()
    runs: list[Run] = []

    def work_through(campaign: Campaign) -> None:
        while True:
            with lock:
                index = next(pending, None)
            if index is None:
                return
            run = campaign.choose(index, cal)
            try:
                campaign.run(run, cal)
            except Exception as error:  # the campaign's own failure: say so, keep the run's folder, go on
                run.error = str(error) if isinstance(error, CampaignError) else f"{type(error).__name__}: {error}"
            with lock:
                runs.append(run)
                mark = "  CAMPAIGN ERROR" if run.error else "  VIOLATION" if run.violations else ""
                print(f"[{index:4d}] {run.kind:5s} {run.plan:58s} -> {run.outcome or '?'}{mark}", flush=True)
            if not (run.violations or run.error):
                shutil.rmtree(campaign.work / f"run-{index:04d}", ignore_errors=True)

    threads = [threading.Thread(target=work_through, args=(c,)) for c in campaigns]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(runs, key=lambda r: r.index)


if __name__ == "__main__":
    sys.exit(main())
