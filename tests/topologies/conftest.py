"""Fixtures of the production topologies: real components on loopback ports, started once per
test session and stopped after it. Each component's code lives in tests/support/ (one module
per topology); a component that cannot start skips its tests with the reason, or fails them
under ``CI=true``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.galera import galera_cluster  # noqa: F401  (the Galera cluster fixture)
from support.pgbouncer import PgBouncer, TopologyUnavailable, pgbouncer
from support.servers import admin_address, require_server, under_ci
from support.standby import Standby, hot_standby


def unavailable(what: str, exc: Exception) -> None:
    message = f"{what} cannot be started here: {exc}"
    if under_ci():
        pytest.fail(f"{message} (CI=true, so this fails instead of skipping)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_bouncer() -> Iterator[PgBouncer]:
    """PgBouncer, pool_mode = transaction, in front of the PostgreSQL test server."""
    require_server("postgresql")
    address = admin_address("postgresql")
    try:
        with pgbouncer(address.host, address.port, [address.user or "postgres"]) as found:
            yield found
    except TopologyUnavailable as exc:
        unavailable("PgBouncer", exc)


@pytest.fixture(scope="session")
def pg_standby() -> Iterator[Standby]:
    """A streaming hot standby of the PostgreSQL test server (pg_basebackup -R)."""
    require_server("postgresql")
    try:
        with hot_standby(admin_address("postgresql")) as found:
            yield found
    except TopologyUnavailable as exc:
        unavailable("a PostgreSQL hot standby", exc)
