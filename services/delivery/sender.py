"""One signed POST of a webhook body: pinned to checked addresses, bounded in time, redirects re-checked.

The connection goes to an address that passed the SSRF check (not to whatever a second DNS
lookup returns); 307/308 redirects (which keep method and body) are followed a few times, each
target checked like the first, and any other 3xx counts as a failed attempt.
"""
from __future__ import annotations

import hashlib
import hmac
import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urljoin

from services.delivery.urls import Resolver, Target, WebhookUrlError, allowed_addresses, parse_url, system_resolver

TIMEOUT_SECONDS = 10.0
MAX_REDIRECTS = 3
USER_AGENT = "store-monitor-webhook/1"


def signature(body: bytes, secret: str) -> str:
    """The X-Signature header value: HMAC-SHA256 of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Outcome:
    http_status: int | None
    error: str | None
    seconds: float

    @property
    def delivered(self) -> bool:
        return self.http_status is not None and 200 <= self.http_status < 300 and self.error is None


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, target: Target, address: str, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, target: Target, address: str, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def _post_once(target: Target, address: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, str | None]:
    cls = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    conn = cls(target, address, timeout)
    try:
        conn.request("POST", target.path, body=body, headers=headers)
        response = conn.getresponse()
        response.read(65536)  # the answer is not used; bounded read so a huge one cannot stall us
        return response.status, response.getheader("Location")
    finally:
        conn.close()


def send(
    url: str, body: bytes, secret: str, *, allow_private: bool, timeout: float = TIMEOUT_SECONDS,
    resolve: Resolver = system_resolver, extra_headers: dict[str, str] | None = None,
) -> Outcome:
    """POST `body` to `url`; never raises: failures come back as an error text without internals."""
    started = time.monotonic()
    headers = {
        "Content-Type": "application/json", "User-Agent": USER_AGENT, "X-Signature": signature(body, secret),
        **(extra_headers or {}),
    }
    current = url
    try:
        for _hop in range(MAX_REDIRECTS + 1):
            target = parse_url(current)
            address = allowed_addresses(target, allow_private, resolve)[0]
            status, location = _post_once(target, address, body, headers, timeout)
            if status in (307, 308) and location:
                current = urljoin(current, location)
                continue
            error = None if 200 <= status < 300 else (
                f"HTTP {status} (redirect not followed)" if 300 <= status < 400 else f"HTTP {status}")
            return Outcome(status, error, time.monotonic() - started)
        return Outcome(None, f"more than {MAX_REDIRECTS} redirects", time.monotonic() - started)
    except WebhookUrlError as exc:
        return Outcome(None, f"refused: {exc}", time.monotonic() - started)
    except (socket.timeout, TimeoutError):
        return Outcome(None, f"timed out after {timeout:g}s", time.monotonic() - started)
    except ssl.SSLError as exc:
        return Outcome(None, f"TLS error: {exc.reason or type(exc).__name__}", time.monotonic() - started)
    except (OSError, http.client.HTTPException) as exc:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        return Outcome(None, f"connection failed: {detail}", time.monotonic() - started)
