"""A minimal FastAPI service that runs lamina's startup step and serves its health endpoints.

Run it from the repository root (see README.md beside this file)::

    uvicorn --app-dir examples/fastapi_app app:app

Settings come from the environment: DATABASE_URL (default ./app.duckdb), AUTO_MIGRATE (apply
pending migrations at startup), LAMINA_HEALTH_TOKEN (protects /api/health/detailed), and
LAMINA_MIGRATIONS_DIR, which defaults to the example migrations in ../migrations.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

import lamina
from lamina.server import health_routes

logger = logging.getLogger("uvicorn.error")  # uvicorn prints it; any logger will do
EXAMPLE_MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

# Resolved once: startup and the health endpoints read the same settings.
settings = lamina.load_settings(
    {"migrations_dir": os.environ.get("LAMINA_MIGRATIONS_DIR") or str(EXAMPLE_MIGRATIONS)}
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Raises StartupError (the service does not start) on invalid files or a dirty database;
    # with AUTO_MIGRATE=true applies pending migrations under the migration lock first.
    lamina.startup(settings, logger=logger)
    yield


app = FastAPI(title="example", lifespan=lifespan)
app.router.routes.extend(health_routes(settings))  # GET /api/health, /api/health/detailed


@app.get("/")
def index() -> dict[str, str]:
    return {"service": "example"}
