"""MySQL connections (models/db.make_engine): PyMySQL's preferred TLS mode without loading CA
certificates (a default context per connection cost 49 ms), every connection ending up as
PyMySQL alone would have made it (TLS exactly when the server offers it, unverified)."""
from __future__ import annotations

import ssl

import pymysql.connections
import pytest
from sqlalchemy import text

from models.db import make_engine


@pytest.mark.mysql
def test_connections_build_no_default_ssl_context(mysql_url: str, monkeypatch) -> None:
    built: list[ssl.SSLContext] = []
    real = ssl.create_default_context

    def counting(*args, **kwargs) -> ssl.SSLContext:
        built.append(real(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(pymysql.connections.ssl, "create_default_context", counting)
    engine = make_engine(mysql_url)
    try:
        connections = [engine.connect() for _ in range(4)]  # four at once: four real connections
        states = {isinstance(c.connection.dbapi_connection._sock, ssl.SSLSocket) for c in connections}
        assert all(c.execute(text("SELECT 1")).scalar() == 1 for c in connections)
        offered = bool(connections[0].connection.dbapi_connection.server_capabilities & 2048)
        for c in connections:
            c.close()
    finally:
        engine.dispose()
    assert states == {offered}  # TLS exactly when offered, on every connection
    assert built == []  # the certificate-loading default context is never built
