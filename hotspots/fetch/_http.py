"""A small, polite JSON-over-HTTP client: rate limiting, retries with backoff, typed failures.

Standard library only (:mod:`urllib.request`). Every request goes through a token-bucket rate
limiter; failures that may go away (HTTP 429, 500, 502, 503, 504, timeouts, dropped connections,
truncated bodies, bodies that are not valid JSON) are retried with exponential backoff, and a
``Retry-After`` header, when the server sends one, sets the wait instead. Failures that will not
go away (404, other 4xx) are raised at once as typed errors.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .._errors import HotspotsError

__all__ = [
    "FetchError",
    "NotFound",
    "TooManyResults",
    "HTTPStatusError",
    "RetriesExhausted",
    "RetryPolicy",
    "RateLimiter",
    "JsonClient",
    "USER_AGENT",
]

USER_AGENT = "hotspots (python; +https://github.com/) police.uk fetcher"

#: Statuses retried with backoff.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class FetchError(HotspotsError):
    """A download failed. ``reason`` is a short phrase for summaries (``"HTTP 500"``, ...)."""

    def __init__(self, message: str, *, reason: str = "error", url: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.url = url


class NotFound(FetchError):
    """HTTP 404: the resource does not exist (for police.uk: a month not published yet)."""


class TooManyResults(FetchError):
    """HTTP 503 on a custom-area query: police.uk's answer when an area holds over 10,000 crimes."""


class HTTPStatusError(FetchError):
    """An HTTP error that is not retried (400, 401, 403, 413, ...)."""


class RetriesExhausted(FetchError):
    """A request kept failing with retryable errors; ``attempts`` were made."""

    def __init__(self, message: str, *, reason: str, url: str, attempts: int) -> None:
        super().__init__(message, reason=reason, url=url)
        self.attempts = attempts


@dataclass(frozen=True)
class RetryPolicy:
    """How failing requests are retried.

    Attributes
    ----------
    retries : int
        Retries after the first attempt (so ``retries + 1`` attempts at most).
    backoff : float
        First wait, seconds; doubled (``factor``) after each failure, capped at ``max_backoff``.
    factor : float
    max_backoff : float
        Longest backoff wait, seconds.
    max_retry_after : float
        Longest wait honoured from a ``Retry-After`` header, seconds (a longer one is capped).
    """

    retries: int = 5
    backoff: float = 1.0
    factor: float = 2.0
    max_backoff: float = 60.0
    max_retry_after: float = 300.0

    def wait(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        if retry_after is not None:
            return float(min(max(retry_after, 0.0), self.max_retry_after))
        return float(min(self.max_backoff, self.backoff * self.factor ** (attempt - 1)))


class RateLimiter:
    """Token bucket: at most ``rate`` requests per second on average, bursts of ``burst``.

    police.uk allows 15 requests per second with bursts of 30 (a leaky bucket); the default of
    the fetcher stays well below.
    """

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not (rate > 0):
            raise ValueError("rate must be > 0")
        self.rate = float(rate)
        self.burst = max(1, int(burst))
        self.clock = clock
        self.sleep = sleep
        self.tokens = float(self.burst)
        self.last = clock()
        self.waited = 0.0

    def acquire(self) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1.0:
            need = (1.0 - self.tokens) / self.rate
            self.sleep(need)
            self.waited += need
            now = self.clock()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now
        self.tokens = max(0.0, self.tokens - 1.0)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent/unreadable."""
    if value is None:
        return None
    v = value.strip()
    if not v:
        return None
    try:
        return max(0.0, float(v))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(v)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


@dataclass
class ClientStats:
    """Counts kept by :class:`JsonClient`: requests sent, retries by reason, seconds waited."""

    requests: int = 0
    retries: dict[str, int] = field(default_factory=dict)
    waited_backoff: float = 0.0

    def add_retry(self, reason: str) -> None:
        self.retries[reason] = self.retries.get(reason, 0) + 1


class JsonClient:
    """GET/POST requests returning parsed JSON, with rate limiting and retries.

    Parameters
    ----------
    base_url : str
        Prefix of every path, e.g. ``"https://data.police.uk/api"``.
    rate : float
        Requests per second (average).
    burst : int
        Requests allowed back to back before the rate applies.
    timeout : float
        Seconds to wait for a connection and for each read.
    policy : RetryPolicy
    sleep, clock : callables
        Injected for tests (``time.sleep`` and ``time.monotonic`` by default).
    log : callable, optional
        Called with one line of text per retry.
    """

    def __init__(
        self,
        base_url: str,
        *,
        rate: float = 4.0,
        burst: int = 4,
        timeout: float = 60.0,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = float(timeout)
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self.limiter = RateLimiter(rate, burst, clock=clock, sleep=sleep)
        self.log = log or (lambda _msg: None)
        self.stats = ClientStats()

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        u = f"{self.base_url}/{path.lstrip('/')}"
        if params:
            u += "?" + urllib.parse.urlencode(params)
        return u

    def get_json(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        form: dict[str, Any] | None = None,
        too_many_on_503: bool = False,
    ) -> Any:
        """Request ``path`` (GET, or POST with ``form`` fields) and return the decoded JSON.

        Parameters
        ----------
        too_many_on_503 : bool
            Treat a 503 *without* ``Retry-After`` as :class:`TooManyResults` (police.uk's custom-area
            limit) instead of retrying it, and 413/414 (request too large) likewise, so that the
            caller splits the area. A 503 with ``Retry-After`` is always retried.

        Raises
        ------
        NotFound
            HTTP 404.
        TooManyResults
            See ``too_many_on_503``.
        HTTPStatusError
            Other non-retryable HTTP statuses.
        RetriesExhausted
            Retryable failures on every attempt.
        """
        url = self.url(path, params)
        data = urllib.parse.urlencode(form).encode("ascii") if form is not None else None
        attempts = self.policy.retries + 1
        last_reason, last_detail = "error", ""
        for attempt in range(1, attempts + 1):
            self.limiter.acquire()
            self.stats.requests += 1
            retry_after: float | None = None
            try:
                req = urllib.request.Request(url, data=data, headers={"User-Agent": USER_AGENT, "Accept": "application/json"})
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 - URL built from base_url
                    body = resp.read()
                    expected = resp.headers.get("Content-Length")
                if expected is not None and expected.isdigit() and len(body) != int(expected):
                    raise http.client.IncompleteRead(body, int(expected) - len(body))
                try:
                    return json.loads(body.decode("utf-8"))
                except (UnicodeDecodeError, ValueError) as exc:
                    last_reason, last_detail = "invalid JSON", f"{str(exc)[:120]}; body starts {body[:60]!r}"
            except urllib.error.HTTPError as exc:
                status = exc.code
                retry_after = parse_retry_after(exc.headers.get("Retry-After") if exc.headers else None)
                try:
                    exc.read()
                except Exception:  # noqa: BLE001 - the body of an error is not needed
                    pass
                finally:
                    exc.close()
                if status == 404:
                    raise NotFound(f"HTTP 404 Not Found: {url}", reason="HTTP 404", url=url) from None
                if status == 503 and too_many_on_503 and retry_after is None:
                    raise TooManyResults(
                        f"HTTP 503 for a custom area (more than the API returns in one call): {url}", reason="HTTP 503", url=url
                    ) from None
                if status in (413, 414) and too_many_on_503:
                    raise TooManyResults(
                        f"HTTP {status}: the area's polygon is too long for one request: {url}", reason=f"HTTP {status}", url=url
                    ) from None
                if status not in RETRY_STATUSES:
                    raise HTTPStatusError(f"HTTP {status} {exc.reason}: {url}", reason=f"HTTP {status}", url=url) from None
                last_reason, last_detail = f"HTTP {status}", str(exc.reason)
            except http.client.IncompleteRead as exc:
                last_reason, last_detail = "truncated body", f"got {len(exc.partial):,} bytes, {exc.expected:,} missing"
            except TimeoutError as exc:
                last_reason, last_detail = "timeout", str(exc) or f"no answer within {self.timeout:g} s"
            except urllib.error.URLError as exc:
                if isinstance(exc.reason, (TimeoutError, socket.timeout)):
                    last_reason, last_detail = "timeout", str(exc.reason)
                else:
                    last_reason, last_detail = "connection error", str(exc.reason)
            except (ConnectionError, http.client.HTTPException, OSError) as exc:
                last_reason, last_detail = "connection error", f"{type(exc).__name__}: {exc}"
            if attempt == attempts:
                break
            self.stats.add_retry(last_reason)
            wait = self.policy.wait(attempt, retry_after)
            self.log(
                f"{last_reason} ({last_detail}) for {url}; retry {attempt}/{self.policy.retries} in {wait:.1f} s"
                + (" (Retry-After)" if retry_after is not None else "")
            )
            self.stats.waited_backoff += wait
            self.sleep(wait)
        raise RetriesExhausted(
            f"{last_reason} on every one of {attempts} attempts ({last_detail}): {url}",
            reason=last_reason,
            url=url,
            attempts=attempts,
        )
