"""The only place that talks to Twilio: SDK client, retries, paging, upload, request counting,
and how many requests are in flight (`AdaptiveLimit`: fewer while Twilio answers 429).

The `twilio` SDK addresses each product by its own host (studio.twilio.com,
serverless.twilio.com, api.twilio.com, serverless-upload.twilio.com, sync.twilio.com). To
point it at the local emulator we redirect every one of those hosts to a single base URL
inside the SDK's http client, so the rest of twideploy uses the real SDK unchanged. Sync's
paths are Serverless's (`/v1/Services/...`), so its host becomes a path prefix there
(`emulator_url`).
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from twideploy.errors import TwilioApiError
from twideploy.secrets import Credentials

T = TypeVar("T")
R = TypeVar("R")

TWILIO_HOST = re.compile(r"^https://(?P<host>[a-z0-9.-]+\.twilio\.com)")
#: Hosts whose paths another product's also has, and the path prefix the emulator serves each under.
EMULATOR_PATH_PREFIXES = {"sync.twilio.com": "/sync"}
UPLOAD_BASE = "https://serverless-upload.twilio.com"
SYNC_BASE = "https://sync.twilio.com"
MAX_PAGE_SIZE = 1000
DEFAULT_CONCURRENCY = 16  # requests in flight at most, per account (the ceiling of `AdaptiveLimit`)
RETRY_AFTER_CAP_SECONDS = 60.0

#: Statuses worth another attempt. A request that sends the same outcome however often it
#: is sent (a read, a delete, a write the caller declares idempotent: see `call`) is retried
#: on any of them and on connection errors. Any other POST creates something, so it is
#: retried only when Twilio says it did not process it (429, 503) or no connection was
#: made: a 500 or a lost answer after a create may mean it was made, and sending it again
#: could make a second one.
RETRYABLE_IDEMPOTENT = {429, 500, 502, 503, 504}
RETRYABLE_CREATE = {429, 503}

_policy = threading.local()  # .idempotent: the writes of the current `call(..., idempotent=True)`


class _RetryableStatus(Exception):
    """Internal: a response whose status says try again (carries Retry-After)."""

    def __init__(self, response: requests.Response):
        self.response = response
        super().__init__(f"HTTP {response.status_code}")


class _RedirectingHttpClient(TwilioHttpClient):
    """TwilioHttpClient that rewrites Twilio hosts to `base_url`, counts and retries."""

    def __init__(self, gateway: Gateway, base_url: str | None, timeout: float):
        super().__init__(timeout=timeout)
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=gateway.concurrency)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self._gateway = gateway
        self._base_url = base_url.rstrip("/") if base_url else None

    def rewrite(self, url: str) -> str:
        return emulator_url(self._base_url, url) if self._base_url else url

    def request(self, method: str, url: str, params: dict[str, object] | None = None,
                data: dict[str, object] | None = None, headers: dict[str, str] | None = None,
                auth: tuple[str, str] | None = None, timeout: float | None = None,
                allow_redirects: bool = False) -> Response:
        response = self.send(method, self.rewrite(url), params=params, data=data, headers=headers, auth=auth,
                             timeout=timeout or self.timeout, state=url.startswith(SYNC_BASE))
        return Response(int(response.status_code), response.text, response.headers)

    def send(self, method: str, url: str, *, state: bool = False, **kwargs: Any) -> requests.Response:
        """One logical request: attempts with tenacity until success or a final answer. `state`:
        a request of twideploy's own state (Sync), counted apart from the account's resources."""
        method = method.upper()
        idempotent = method in ("GET", "DELETE") or getattr(_policy, "idempotent", False)
        retryable = RETRYABLE_IDEMPOTENT if idempotent else RETRYABLE_CREATE
        retry_errors = (requests.ConnectionError, requests.Timeout) if idempotent else (requests.ConnectTimeout,)

        def attempt() -> requests.Response:
            self._gateway._count(method, state=state)
            with self._gateway.limiter.slot() as answered:  # the bound holds however deeply `map` calls nest
                response = self.session.request(method, url, allow_redirects=False, **kwargs)
                answered(response.status_code)
            if response.status_code in retryable:
                raise _RetryableStatus(response)
            return response

        retrying = Retrying(
            stop=stop_after_attempt(self._gateway.max_attempts),
            wait=_wait_retry_after,
            retry=retry_if_exception_type((_RetryableStatus, *retry_errors)),
            reraise=True,
        )
        try:
            response = retrying(attempt)
        except _RetryableStatus as exhausted:
            return exhausted.response
        except requests.RequestException as error:
            attempts = retrying.statistics.get("attempt_number", 1)
            if isinstance(error, retry_errors):
                raise TwilioApiError(f"{method} {url}: {type(error).__name__} on the last of {attempts} "
                                     f"attempt(s), each of which failed") from error
            raise TwilioApiError(f"{method} {url}: {type(error).__name__} after the request was sent "
                                 f"(attempt {attempts}); a create is not sent again, so it may or may not "
                                 f"have been applied") from error
        if method == "DELETE" and response.status_code == 404 and retrying.statistics.get("attempt_number", 1) > 1:
            response.status_code = 204  # an earlier attempt, its answer lost, deleted it: what was asked is done
        return response


def emulator_url(base_url: str, url: str) -> str:
    """A Twilio URL on the emulator at `base_url`: the host replaced, its path prefix added if it has one."""
    match = TWILIO_HOST.match(url)
    if match is None:
        return url
    return base_url.rstrip("/") + EMULATOR_PATH_PREFIXES.get(match["host"], "") + url[match.end():]


_backoff = wait_exponential_jitter(multiplier=0.2, max=10, jitter=0.2)


def _wait_retry_after(state: RetryCallState) -> float:
    """Honour Twilio's Retry-After header when there is one, else back off exponentially."""
    error = state.outcome.exception() if state.outcome else None
    if isinstance(error, _RetryableStatus):
        header = error.response.headers.get("Retry-After")
        try:
            return min(float(header), RETRY_AFTER_CAP_SECONDS) if header else _backoff(state)
        except ValueError:
            return _backoff(state)
    return _backoff(state)


class AdaptiveLimit:
    """How many requests may be in flight: additive increase, multiplicative decrease (AIMD).

    Twilio answers 429 when an account sends too much at once. A 429 halves the limit (not
    below `floor`, 1), at most once per round: requests sent before the last halving were
    sent under the higher limit, so their 429s say nothing new (without this, one burst of
    16 rejections would take 16 down to 1). Every `limit` answers that are not 429, about one
    round's worth, raise it by one, up to `ceiling` (`Gateway(concurrency=...)`, which
    `--parallelism` sets). It starts at the ceiling, so an account that is never throttled
    never waits. A request that got no answer (a dropped connection) changes nothing.
    Thread-safe: every attempt of every thread goes through `slot`.
    """

    def __init__(self, ceiling: int, *, floor: int = 1):
        if not 1 <= floor <= ceiling:
            raise ValueError(f"the concurrency must be at least {floor}")
        self.ceiling, self.floor, self.limit = ceiling, floor, ceiling
        self.in_flight = 0
        self.peak_in_flight = 0  # the most requests in flight at once, ever
        self.throttled = 0  # 429 answers received
        self._answered = 0  # answers, not 429, since the limit last changed
        self._round = 0  # how many times it was halved
        self._room = threading.Condition()

    @contextmanager
    def slot(self) -> Iterator[Callable[[int], None]]:
        """Wait for room, then hold one place while a request is in flight; call the function
        it yields with the HTTP status of the answer (not calling it: no answer came)."""
        with self._room:
            while self.in_flight >= self.limit:
                self._room.wait()
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            sent_in_round = self._round
        status: list[int] = []
        try:
            yield status.append
        finally:
            self._release(sent_in_round, status[-1] if status else None)

    def _release(self, sent_in_round: int, status: int | None) -> None:
        with self._room:
            self.in_flight -= 1
            if status == 429:
                self.throttled += 1
                if sent_in_round == self._round:
                    self.limit, self._round, self._answered = max(self.floor, self.limit // 2), self._round + 1, 0
            elif status is not None:
                self._answered += 1
                if self._answered >= self.limit and self.limit < self.ceiling:
                    self.limit, self._answered = self.limit + 1, 0
            self._room.notify_all()


class Gateway:
    """A Twilio account as twideploy sees it: the SDK client plus the plumbing around it."""

    def __init__(self, credentials: Credentials, *, base_url: str | None = None,
                 concurrency: int = DEFAULT_CONCURRENCY, timeout: float = 30.0, max_attempts: int = 8):
        self.credentials = credentials
        self.concurrency = concurrency
        self.limiter = AdaptiveLimit(concurrency)  # its `limit` now, `peak_in_flight`, `throttled`
        self.max_attempts = max_attempts
        self.requests_by_method: Counter[str] = Counter()
        self.state_requests_by_method: Counter[str] = Counter()  # Sync, where `state: account` keeps state
        self._lock = threading.Lock()
        self._http = _RedirectingHttpClient(self, base_url, timeout)
        self.client = Client(credentials.username, credentials.password.reveal(),
                             account_sid=credentials.account_sid, http_client=self._http)

    @property
    def account_sid(self) -> str:
        return self.credentials.account_sid

    @property
    def requests_made(self) -> int:
        return sum(self.requests_by_method.values())

    @property
    def writes_made(self) -> int:
        return sum(n for method, n in self.requests_by_method.items() if method != "GET")

    def _count(self, method: str, *, state: bool = False) -> None:
        with self._lock:
            (self.state_requests_by_method if state else self.requests_by_method)[method] += 1

    def list_all(self, resource_list: Any, **filters: Any) -> list[Any]:
        """Every record of an SDK list resource, in pages of the maximum size."""
        return call(lambda: resource_list.list(page_size=MAX_PAGE_SIZE, **filters))

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """`fn` over `items` on threads, results in order. Calls may nest (a service's reads
        inside the read of all services); the limiter around each HTTP attempt keeps the
        whole gateway at `concurrency` requests in flight at most (fewer when throttled)."""
        items = list(items)
        if len(items) <= 1 or self.concurrency <= 1:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(fn, items))

    def upload_version(self, service_sid: str, kind: str, resource_sid: str, *, path: str,
                       visibility: str, content: bytes, content_type: str) -> str:
        """Create a Function or Asset Version by multipart upload (the SDK has no call for it).

        `kind` is "Functions" or "Assets". Returns the new version's SID.
        """
        url = self._http.rewrite(f"{UPLOAD_BASE}/v1/Services/{service_sid}/{kind}/{resource_sid}/Versions")
        response = self._http.send(
            "POST", url,
            data={"Path": path, "Visibility": visibility},
            files={"Content": (path.rsplit("/", 1)[-1] or "content", content, content_type)},
            auth=(self.credentials.username, self.credentials.password.reveal()),
            timeout=self._http.timeout,
        )
        if response.status_code >= 400:
            raise _api_error(f"upload of {path}", response.status_code, _json_or_empty(response))
        return response.json()["sid"]


def call(fn: Callable[[], T], *, idempotent: bool = False) -> T:
    """Run an SDK call, turning the SDK's exception into twideploy's.

    `idempotent=True` is the caller's word that the writes of `fn` set an absolute state (an
    update to given values, a deployment of a given build, a validation): sending one twice
    does what sending it once does, so it is retried on 5xx and connection errors like a
    read. Otherwise a POST is taken as a create and is not sent again after a 500 or a lost
    answer. The flag is per thread, so it holds for exactly the requests `fn` makes.
    """
    outer = getattr(_policy, "idempotent", False)
    _policy.idempotent = idempotent or outer
    try:
        return fn()
    except TwilioRestException as error:
        raise TwilioApiError(f"Twilio error {error.code}: {error.msg} ({error.method} {error.uri})",
                             status=error.status, code=error.code) from error
    except TwilioException as error:  # raised by the SDK's paging, with the raw response
        response = error.args[1] if len(error.args) > 1 else None
        status = getattr(response, "status_code", None)
        body = _json_or_empty(response) if response is not None else {}
        raise _api_error(str(error.args[0]), status, body) from error
    finally:
        _policy.idempotent = outer


def _json_or_empty(response: requests.Response | Response) -> dict:
    try:
        return response.json() if hasattr(response, "json") else json.loads(response.text)
    except ValueError:
        return {}


def _api_error(what: str, status: int | None, body: dict[str, Any]) -> TwilioApiError:
    return TwilioApiError(f"{what}: HTTP {status}: {body.get('message', 'no message')}",
                          status=status, code=body.get("code"))
