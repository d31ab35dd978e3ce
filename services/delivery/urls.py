"""Where a webhook may go: http(s) URLs whose every resolved address is public (SSRF rules).

Checked when the URL is given (a clear 400) and again at every send, on the addresses actually
connected to, because DNS may answer differently later.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

from services.errors import InvalidInput

MAX_URL_LENGTH = 2000
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


class WebhookUrlError(InvalidInput):
    """A webhook URL that is malformed or points where the service must not send."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line


def parse_url(url: object) -> Target:
    if not isinstance(url, str) or not url.strip():
        raise WebhookUrlError("webhook_url must be an http:// or https:// URL")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise WebhookUrlError(f"webhook_url is longer than {MAX_URL_LENGTH} characters")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise WebhookUrlError("webhook_url must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise WebhookUrlError("webhook_url is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise WebhookUrlError("webhook_url must use http or https")
    if not parts.hostname:
        raise WebhookUrlError("webhook_url has no host")
    if parts.username is not None or parts.password is not None:
        raise WebhookUrlError("webhook_url must not carry credentials")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme, parts.hostname.lower(), port or (443 if scheme == "https" else 80), path)


def refusal(address: IPAddress) -> str | None:
    """Why an address is not a public destination, or None if it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for test, reason in (
        (address.is_loopback, "loopback"), (address.is_link_local, "link-local"),
        (address.is_unspecified, "unspecified"), (address.is_multicast, "multicast"),
        (address.is_private, "private"), (address.is_reserved, "reserved"),
        (not address.is_global, "non-public"),
    ):
        if test:
            return reason
    return None


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def allowed_addresses(target: Target, allow_private: bool, resolve: Resolver = system_resolver) -> list[str]:
    """The addresses to connect to; raises if the host does not resolve or any address is refused."""
    try:
        addresses = [str(ipaddress.ip_address(target.host))]  # a literal address needs no lookup
    except ValueError:
        addresses = []
    try:
        addresses = addresses or resolve(target.host, target.port)
    except (OSError, UnicodeError):
        raise WebhookUrlError(f"webhook host {target.host!r} does not resolve") from None
    if not addresses:
        raise WebhookUrlError(f"webhook host {target.host!r} does not resolve")
    if not allow_private:
        for text in addresses:
            reason = refusal(ipaddress.ip_address(text.split("%")[0]))
            if reason:
                raise WebhookUrlError(
                    f"webhook host {target.host!r} resolves to a {reason} address ({text}); "
                    "set WEBHOOK_ALLOW_PRIVATE=true to allow it"
                )
    return addresses


def validate_webhook_url(url: object, allow_private: bool, resolve: Resolver = system_resolver) -> str:
    """The URL, stripped, if the service may send to it now."""
    target = parse_url(url)
    allowed_addresses(target, allow_private, resolve)
    return str(url).strip()


def accept_webhook_url(url: str | None, secret: str | None, allow_private: bool) -> str | None:
    """A client's webhook_url (None when none was given), checked: webhooks need WEBHOOK_SECRET."""
    if url is None:
        return None
    if not secret:
        raise WebhookUrlError("webhooks are disabled: WEBHOOK_SECRET is not configured on the service")
    return validate_webhook_url(url, allow_private)
