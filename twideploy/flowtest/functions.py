"""Run Function in flow tests: the project's real Function code, run in Node.js, offline.

Each run is one `node runtime/shim.js` process (see its header for what it mirrors of Twilio's
runtime): the function's `context` holds the environment's service variables, `event` the
widget's parameters, and the answer is what Studio would receive. Nothing leaves the machine:
every HTTP request the code makes comes back here and is answered from the scenario's mocks
(`http_mocks.find_mock`, as for the HTTP Request widget); one no mock answers ends the run as
an error. A run that has not answered after `timeout_seconds` (Twilio's 10 s) is stopped.

Service variables reach the process in its environment (as in Twilio, `process.env` holds
them too), not on a command line or in a pipe; secret ones are masked in everything a run
gives back: logs, body, error, the recorded requests.

npm packages are installed once into the cache folder and reused by later runs: the runtime's
own (`runtime/package-lock.json`, by `npm ci`) and each service's `dependencies` (by `npm
install`), in a folder named by a hash of the dependencies and the node version. An install
goes to a temporary folder renamed into place when complete, so an interrupted or concurrent
install never leaves a half-filled cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twideploy.errors import TwideployError
from twideploy.flowtest.http_mocks import HttpCall, HttpMock, find_mock
from twideploy.manifest.files import ProjectFiles
from twideploy.manifest.project import ServiceSource
from twideploy.manifest.service_loader import load_services
from twideploy.plan.planner import mask_text
from twideploy.secrets import Secret, reveal

RUNTIME = Path(__file__).parent / "runtime"
STARTUP_SECONDS = 30.0  # loading node and the interceptors, before the function's own clock starts
INSTALL_SECONDS = 600.0
INSTALLED_MARKER = ".twideploy-installed"
NPM_ERROR_CODE = re.compile(r"npm (error|ERR!) code ")


class FunctionRuntimeError(TwideployError):
    """A Function cannot be run at all: node or npm missing, an install failed, an unknown path."""


@dataclass(frozen=True)
class FunctionInvocation:
    """One call of a Function, as Studio's Run Function widget makes it."""

    service_dir: Path  # functions/<service>/ (holds service.yaml, functions/, assets/)
    path: str  # "/lookup"
    event: dict[str, str]  # the widget's rendered parameters
    variables: Mapping[str, str | Secret]  # the environment's service variables; Secret ones are masked
    mocks: tuple[HttpMock, ...] = ()
    timeout_seconds: float = 10.0
    dependencies: dict[str, str] = field(default_factory=dict)  # service.yaml dependencies


@dataclass(frozen=True)
class FunctionOutcome:
    """What Studio would receive, and what happened on the way.

    `error` says why a run did not succeed: the error passed to callback or thrown, a timeout,
    an unmocked request. Studio takes `fail` on any non-2xx status; only an unmocked request
    (`unmocked` is not empty) is a mistake of the scenario rather than a path of the flow.
    """

    status_code: int  # 200 for callback(null, obj); 500 for callback(err)/throw/timeout; Response's code
    body: str  # the response body as Studio receives it (objects JSON-encoded)
    content_type: str  # "application/json" for objects, text/plain for strings, Response's header
    http_calls: tuple[HttpCall, ...]
    logs: tuple[str, ...]  # console output (secrets masked)
    error: str | None  # "timed out after 10 s", "unmocked request GET https://...", "TypeError: ..." or None

    @property
    def unmocked(self) -> tuple[HttpCall, ...]:
        return tuple(call for call in self.http_calls if call.mock is None)


@dataclass
class _Run:
    """What one process has said so far."""

    secrets: list[str]
    http_calls: list[HttpCall] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)

    def masked(self, text: str) -> str:
        return mask_text(text, self.secrets)

    def outcome(self, status: int, body: str, content_type: str, error: str | None) -> FunctionOutcome:
        return FunctionOutcome(status, self.masked(body), content_type, tuple(self.http_calls),
                               tuple(self.masked(line) for line in self.logs),
                               None if error is None else self.masked(error))


class FunctionRunner:
    """Runs Functions; one instance per `twideploy test` run (reuses installed dependencies)."""

    def __init__(self, cache_dir: Path):
        self.cache_dir = cache_dir  # `twideploy test` passes <project>/.twideploy/cache/node
        self._services: dict[Path, ServiceSource] = {}
        self._node_version: str | None = None

    def run(self, invocation: FunctionInvocation) -> FunctionOutcome:
        service = self._service(invocation.service_dir)
        function = next((f for f in service.functions if f.path == invocation.path), None)
        if function is None:
            raise FunctionRuntimeError(f"functions/{service.name} has no function {invocation.path} "
                                       f"(it has {', '.join(f.path for f in service.functions) or 'none'})")
        # The service's packages are found by the function's require() through NODE_PATH; the
        # runtime's own only by the shim, so code that forgets a dependency fails here as on Twilio.
        runtime_modules = self._runtime_modules()
        dependency_modules = self._dependency_modules(invocation.dependencies) if invocation.dependencies else ""
        setup = {
            "runtimeModules": str(runtime_modules),
            "functionFile": str(function.file.resolve()),
            "path": invocation.path,
            "domainName": f"{service.unique_name}.twil.io",
            "variables": sorted(invocation.variables),
            "event": invocation.event,
            "functions": {f.path[1:]: str(f.file.resolve()) for f in service.functions},
            "assets": {a.path: str(a.file.resolve()) for a in service.assets if a.visibility == "private"},
        }
        env = {"PATH": os.environ.get("PATH", ""), "TZ": "UTC", "NODE_PATH": str(dependency_modules),
               **{name: reveal(value) for name, value in invocation.variables.items()}}
        secrets = [value.reveal() for value in invocation.variables.values() if isinstance(value, Secret)]
        try:
            process = subprocess.Popen([self._node(), str(RUNTIME / "shim.js")], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        except OSError as exc:
            raise FunctionRuntimeError(f"cannot start node to run {invocation.path}: {exc}") from exc
        try:
            return self._converse(process, setup, invocation, _Run([s for s in secrets if s]))
        finally:
            process.kill()
            process.wait()

    def _converse(self, process: subprocess.Popen[str], setup: dict[str, Any], invocation: FunctionInvocation,
                  run: _Run) -> FunctionOutcome:
        """Answer the process's requests until it answers, fails or runs out of time."""
        assert process.stdin is not None and process.stdout is not None and process.stderr is not None
        messages: queue.Queue[str | None] = queue.Queue()
        stderr: list[str] = []
        threading.Thread(target=_pump, args=(process.stdout, messages.put), daemon=True).start()
        stderr_reader = threading.Thread(target=_pump, args=(process.stderr, stderr.append), daemon=True)
        stderr_reader.start()
        process.stdin.write(json.dumps(setup) + "\n")
        process.stdin.flush()
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                line = messages.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                if deadline - time.monotonic() > invocation.timeout_seconds:
                    raise FunctionRuntimeError(f"node did not start {invocation.path} "
                                               f"within {STARTUP_SECONDS:g} s") from None
                return run.outcome(500, "", "text/plain", f"timed out after {invocation.timeout_seconds:g} s "
                                                          "(the handler never called callback)")
            if line is None:  # the process ended without answering
                stderr_reader.join(timeout=1)
                run.logs.extend(f"[stderr] {text}" for text in stderr)
                why = stderr[-1] if stderr else f"exit code {process.wait()}"
                return run.outcome(500, "", "text/plain", f"the function's process ended without answering: {why}")
            message = json.loads(line)
            kind = message["type"]
            if kind == "started":
                deadline = time.monotonic() + invocation.timeout_seconds
            elif kind == "log":
                level = message["level"]
                run.logs.append(message["text"] if level in ("info", "debug") else f"[{level}] {message['text']}")
            elif kind == "http":
                mock = find_mock(invocation.mocks, message["method"], message["url"])
                body = message["body"]
                run.http_calls.append(HttpCall(message["method"], run.masked(message["url"]),
                                               None if body is None else run.masked(body), mock))
                if mock is None:
                    return run.outcome(500, "", "text/plain",
                                       f"unmocked request {message['method']} {message['url']}")
                answer = {"id": message["id"], "status": mock.status, "headers": mock.response_headers(),
                          "body": mock.body_text()}
                process.stdin.write(json.dumps(answer) + "\n")
                process.stdin.flush()
            elif kind == "done":
                return run.outcome(message["status"], message["body"], message["contentType"], message.get("error"))

    def _service(self, service_dir: Path) -> ServiceSource:
        """The service in `service_dir` (functions/<name>/), loaded as `validate` loads it."""
        service_dir = service_dir.resolve()
        if service_dir not in self._services:
            files = ProjectFiles(service_dir.parent.parent)
            services = load_services(files)
            errors = [str(problem) for problem in files.problems if problem.severity == "error"]
            if service_dir.name not in services:
                raise FunctionRuntimeError("; ".join(errors) or f"{service_dir} is not a service folder")
            self._services[service_dir] = services[service_dir.name]
        return self._services[service_dir]

    def _node(self) -> str:
        node = shutil.which("node")
        if node is None:
            raise FunctionRuntimeError("node is needed to run Functions in flow tests: install Node.js")
        return node

    def _node_major(self) -> str:
        if self._node_version is None:
            self._node_version = subprocess.run([self._node(), "--version"], capture_output=True, text=True,
                                                check=True).stdout.strip()
        return self._node_version.split(".")[0]

    def _runtime_modules(self) -> Path:
        """node_modules of the runtime's own packages, from its lock file."""
        lock = (RUNTIME / "package-lock.json").read_bytes()

        def install(folder: Path) -> None:
            for name in ("package.json", "package-lock.json"):
                shutil.copy(RUNTIME / name, folder / name)
            _npm(folder, ["ci"], "the flow-test runtime's packages (twideploy/flowtest/runtime/package-lock.json)")

        key = _digest({"lock": hashlib.sha256(lock).hexdigest(), "node": self._node_major()})
        return _installed(self.cache_dir / f"runtime-{key}", install) / "node_modules"

    def _dependency_modules(self, dependencies: dict[str, str]) -> Path:
        """node_modules of a service's `dependencies`."""
        def install(folder: Path) -> None:
            manifest = {"name": "twideploy-function-dependencies", "private": True, "dependencies": dependencies}
            (folder / "package.json").write_text(json.dumps(manifest, indent=2))
            listed = ", ".join(f"{name}@{version}" for name, version in sorted(dependencies.items()))
            _npm(folder, ["install"], f"the service's dependencies ({listed})")

        key = _digest({"dependencies": dependencies, "node": self._node_major()})
        return _installed(self.cache_dir / key, install) / "node_modules"


def _pump(stream: Any, put: Callable[[Any], None]) -> None:
    """Hand each line of `stream` to `put`, then None for its end (for a queue that waits on it)."""
    for line in stream:
        put(line.rstrip("\n"))
    put(None)


def _digest(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _installed(folder: Path, install: Callable[[Path], None]) -> Path:
    """`folder`, filled by `install` unless an earlier install completed it."""
    if (folder / INSTALLED_MARKER).is_file():
        return folder
    staging = folder.with_name(f"{folder.name}.partial-{os.getpid()}-{threading.get_ident()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        install(staging)
        (staging / INSTALLED_MARKER).touch()
        try:
            staging.rename(folder)
        except OSError:  # another process installed the same folder meanwhile
            if not (folder / INSTALLED_MARKER).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _npm(folder: Path, command: list[str], what: str) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise FunctionRuntimeError(f"npm is needed to install {what}: install Node.js")
    try:
        subprocess.run([npm, *command, "--no-audit", "--no-fund", "--loglevel=error"], cwd=folder,
                       capture_output=True, text=True, check=True, timeout=INSTALL_SECONDS)
    except subprocess.CalledProcessError as exc:
        # npm says "npm error code ETARGET" first, then what went wrong.
        lines = [line for line in (exc.stderr or exc.stdout or "").splitlines()
                 if line.strip() and not NPM_ERROR_CODE.match(line)]
        reason = lines[0].strip() if lines else f"exit code {exc.returncode}"
        raise FunctionRuntimeError(f"npm {command[0]} of {what} failed: {reason}") from exc
    except subprocess.TimeoutExpired as exc:
        raise FunctionRuntimeError(f"npm {command[0]} of {what} took more than {INSTALL_SECONDS:g} s") from exc
