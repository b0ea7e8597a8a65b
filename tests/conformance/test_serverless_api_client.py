"""Twilio's own Node Serverless client deploys to `twideploy emulator serve`, unmodified.

@twilio-labs/serverless-api, the library behind `twilio serverless:deploy`, is pinned in
tests/conformance/package.json and installed by .ci/install-serverless-api.sh into
.ci/tools/serverless-api/ (or $TWIDEPLOY_SERVERLESS_API_DIR). It always calls
https://serverless.twilio.com and https://serverless-upload.twilio.com, and honours
HTTP_PROXY. So the test runs a CONNECT proxy that answers the TLS handshake for those hosts
with a throwaway certificate (which node trusts through NODE_EXTRA_CA_CERTS) and passes the
decrypted HTTP on to the emulator, which routes by path alone: neither the library nor its
requests are changed. Then it reads back through the Python SDK, every response checked
against Twilio's OpenAPI specs, that the service deployed is the one the client sent.

Without node, openssl or the installed client the test is skipped with a reason, except
under CI=true, where that is a failure.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
import requests
from twilio.rest import Client

from tests.emulator.helpers import EmulatorHttpClient
from tests.emulator.openapi import OpenApiSpecs, specs_dir
from twideploy.emulator import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PACKAGE = "@twilio-labs/serverless-api"
TWILIO_HOSTS = ("serverless.twilio.com", "serverless-upload.twilio.com")


def unavailable(reason: str) -> NoReturn:
    """Skip, with the reason shown; under CI a missing prerequisite fails instead."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; under CI it is required")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """The installed client's node_modules, of the version tests/conformance/package.json pins."""
    for tool in ("node", "openssl"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is not installed")
    folder = Path(os.environ.get("TWIDEPLOY_SERVERLESS_API_DIR") or REPO / ".ci" / "tools" / "serverless-api")
    installed = folder / "node_modules" / PACKAGE / "package.json"
    pinned = json.loads((HERE / "package.json").read_text())["dependencies"][PACKAGE]
    if not installed.is_file() or json.loads(installed.read_text())["version"] != pinned:
        unavailable(f"{PACKAGE}@{pinned} is not installed in {folder}: run `bash .ci/install-serverless-api.sh`")
    return folder / "node_modules"


@pytest.fixture
def emulator_url(tmp_path: Path) -> Iterator[str]:
    """`twideploy emulator serve` in a process of its own, on a free port."""
    command = [sys.executable, "-m", "twideploy", "emulator", "serve", "--port", "0",
               "--db", str(tmp_path / "emulator.sqlite"), "--no-log-requests"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        banner = ""
        while (found := re.search(r"listening on (http://\S+)", banner)) is None:
            line = server.stdout.readline()
            assert line, f"emulator serve exited early:\n{banner}"
            banner += line
        yield found.group(1)
    finally:
        server.terminate()
        server.wait(timeout=10)


class TlsTerminatingProxy(socketserver.ThreadingTCPServer):
    """An HTTP CONNECT proxy that ends each tunnel's TLS itself, with `certificate`, and pipes
    the plain HTTP inside to `upstream`; `tunnels` lists the CONNECT targets it served."""

    daemon_threads = True

    def __init__(self, upstream: tuple[str, int], certificate: Path, key: Path):
        super().__init__(("127.0.0.1", 0), _TunnelHandler)
        self.upstream = upstream
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(certificate, key)
        self.tunnels: list[str] = []


class _TunnelHandler(socketserver.BaseRequestHandler):
    server: TlsTerminatingProxy

    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        method, target = head.split(b" ", 2)[:2]
        if method != b"CONNECT":
            self.request.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        self.server.tunnels.append(target.decode())
        self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        with self.server.tls.wrap_socket(self.request, server_side=True) as client, \
                socket.create_connection(self.server.upstream) as upstream:
            _pipe(client, upstream)


def _pipe(client: ssl.SSLSocket, upstream: socket.socket) -> None:
    """Copy bytes both ways until either side closes (one thread: an SSL socket is not safe to
    read and write from two at once)."""
    try:
        while True:
            readable = [client] if client.pending() else select.select([client, upstream], [], [], 60)[0]
            if not readable:
                return
            for source in readable:
                data = source.recv(65536)
                if not data:
                    return
                (upstream if source is client else client).sendall(data)
    except OSError:  # a reset, or TLS ended without close_notify: the tunnel is over either way
        return


@pytest.fixture
def proxy(emulator_url: str, tmp_path: Path) -> Iterator[tuple[TlsTerminatingProxy, Path]]:
    """The proxy in front of the emulator, and the certificate node must trust."""
    certificate, key = tmp_path / "twilio-hosts.pem", tmp_path / "twilio-hosts.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "1", "-subj", f"/CN={TWILIO_HOSTS[0]}", "-keyout", str(key), "-out", str(certificate),
         "-addext", "subjectAltName=" + ",".join(f"DNS:{host}" for host in TWILIO_HOSTS)],
        check=True, capture_output=True, timeout=60,
    )
    host, port = re.fullmatch(r"http://(.+):(\d+)", emulator_url).groups()
    server = TlsTerminatingProxy((host, int(port)), certificate, key)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server, certificate
    finally:
        server.shutdown()
        server.server_close()


def test_serverless_api_deploys_and_redeploys_to_the_emulator(node_modules, emulator_url, proxy):
    server, certificate = proxy
    env = {
        **os.environ,
        "NODE_PATH": str(node_modules),
        "HTTP_PROXY": f"http://127.0.0.1:{server.server_address[1]}",
        "NODE_EXTRA_CA_CERTS": str(certificate),
        "TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": DEFAULT_AUTH_TOKEN,
    }

    def deploy(greeting: str) -> dict:
        run = subprocess.run(["node", str(HERE / "serverless_api_deploy.js"), "conformance-svc", greeting],
                             env=env, capture_output=True, text=True, timeout=120, check=False)
        assert run.returncode == 0, run.stderr
        return json.loads(run.stdout)

    first = deploy("hello")
    assert {tunnel.split(":")[0] for tunnel in server.tunnels} == set(TWILIO_HOSTS)  # uploads on their host
    # The second run finds the service (its create answers 409), the functions and the
    # assets by name, updates the variable and deploys a new build.
    second = deploy("hello again")
    assert [second[key] for key in ("serviceSid", "environmentSid")] == [first[key] for key in
                                                                         ("serviceSid", "environmentSid")]
    assert {f["sid"] for f in second["functionResources"]} == {f["sid"] for f in first["functionResources"]}
    assert second["buildSid"] != first["buildSid"]
    answered = requests.get(f"{emulator_url}/_admin/stats", timeout=10).json()["by_status"]
    assert {status: n for status, n in answered.items() if int(status) >= 300} == {"409": 1}  # nothing else refused

    specs = specs_dir()
    client = Client(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN,
                    http_client=EmulatorHttpClient(emulator_url, OpenApiSpecs(specs).check if specs else None))
    service = client.serverless.v1.services(second["serviceSid"])
    assert service.fetch().unique_name == "conformance-svc"

    build = service.builds(second["buildSid"]).fetch()
    assert build.status == "completed"
    assert sorted(build.dependencies, key=lambda d: d["name"]) == [
        {"name": "@twilio/runtime-handler", "version": "1.3.0"}, {"name": "lodash", "version": "^4.17.21"}]
    functions = {v["path"]: v for v in build.function_versions}
    assert {path: v["visibility"] for path, v in functions.items()} == {"/hello": "public",
                                                                       "/admin/secret": "protected"}
    content = (service.functions(functions["/hello"]["function_sid"])
               .function_versions(functions["/hello"]["sid"]).function_version_content().fetch().content)
    assert "context.GREETING" in content
    assert [(v["path"], v["visibility"]) for v in build.asset_versions] == [("/style.css", "public")]

    environment = service.environments(second["environmentSid"]).fetch()
    assert (environment.unique_name, environment.domain_suffix) == ("dev-environment", "dev")
    assert environment.build_sid == second["buildSid"]  # the last deployment is the active one
    deployments = service.environments(environment.sid).deployments.list()
    assert sorted(d.build_sid for d in deployments) == sorted([first["buildSid"], second["buildSid"]])
    variables = service.environments(environment.sid).variables.list()
    assert {v.key: v.value for v in variables} == {"GREETING": "hello again"}
