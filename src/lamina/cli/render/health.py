"""``health``: a summary of the health document (``--json`` prints the document itself)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lamina.cli.render.common import console

_HEALTH_STYLE = {"healthy": "green", "degraded": "yellow", "unhealthy": "bold red"}


def health(document: Mapping[str, Any]) -> None:
    out = console()
    status = document["status"]
    out.print(
        f"[{_HEALTH_STYLE[status]}]{document['component']}: {status}[/] — {document['message']}"
    )
    details = document["details"]
    last = details.get("lastMigration")
    if details.get("totalMigrations") is not None:
        out.print(
            f"  version {details['currentVersion']}, {details['totalMigrations']} migration(s), "
            f"{details['pendingMigrations']} pending"
            + (f", last {last['id']} at {last['applied_at']}" if last else "")
        )
    failure = details.get("lastFailure")
    if failure:
        out.print(
            f"  last failure: {failure['migrationId']} at {failure['at']}: {failure['detail']}"
        )
    if "checkDurationMs" in document:
        out.print(f"  [dim]checked in {document['checkDurationMs']} ms")
