"""The health endpoints over HTTP, for load balancers and orchestrators (``lamina[server]``).

``GET /api/health`` answers the basic document of :func:`lamina.health.check`;
``GET /api/health/detailed`` the detailed one, behind ``Authorization: Bearer <token>`` when a
token is configured (``LAMINA_HEALTH_TOKEN`` or the ``token`` argument). The status code is
200 for healthy and degraded, 503 for unhealthy, so a probe needs no JSON parsing.

Three ways to serve them::

    from lamina.server import create_app, health_routes

    app.mount("/lamina", create_app())           # GET /lamina/api/health, .../detailed
    app.router.routes.extend(health_routes())    # or into your own routes: GET /api/health

    $ lamina serve --port 8080                   # or a sidecar next to any service

``lamina serve`` prints one line once it listens (:func:`listening_line`: the address, the engine
and the redacted database URL, whether the detailed endpoint needs a token), then only warnings
and errors.

Starlette and uvicorn are imported here only when an app is built, so ``import lamina`` and
``lamina --help`` never pay for them, and without the extra the error says what to install.
The settings are resolved once, when the app is built, so unusable settings fail at startup
rather than on every probe; the check itself runs on every request, in a worker thread
because the database drivers block.

With ``AUTO_MIGRATE=true``, :func:`create_app` (and so ``lamina serve``) runs
:func:`lamina.startup` in the app's lifespan, before it serves: a startup failure stops the
app, as in any other service. Mounted under another app, which runs only its own lifespan,
the first request runs it instead (a failure is then answered 503 with the startup error).
"""

from __future__ import annotations

import hmac
import logging
import socket
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING, Any

from lamina.api import Lamina
from lamina.config import Settings, load_settings
from lamina.errors import BackendUnavailableError, ConfigError, LaminaError
from lamina.health import COMPONENT, http_status

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

__all__ = ["create_app", "health_routes", "listening_line", "serve"]

INSTALL_HINT = "pip install 'lamina[server]'"
#: The whole body of a refused request: it must not tell a prober anything.
UNAUTHORIZED = {"error": "unauthorized"}
#: Health answers describe this instant; no cache or proxy should replay them.
NO_STORE = {"Cache-Control": "no-store"}


def create_app(
    config: Settings | Mapping[str, object] | None = None, *, token: str | None = None
) -> Starlette:
    """A Starlette app serving ``/api/health`` and ``/api/health/detailed``.

    Args:
        config: resolved :class:`~lamina.config.Settings`, overrides for
            :func:`~lamina.config.load_settings`, or None for the environment and config file.
        token: the bearer token the detailed endpoint requires; default
            ``settings.health_token`` (``LAMINA_HEALTH_TOKEN``); neither means no token.

    Raises:
        ConfigError: the settings are unusable (raised here, not on the first request).
        BackendUnavailableError: Starlette is not installed (``lamina[server]``).
    """
    settings = config if isinstance(config, Settings) else load_settings(config)
    migrate = _AutoMigrate(settings) if settings.auto_migrate else None
    routes = _routes(settings, token=token, prefix="/api/health", migrate=migrate)
    try:
        from starlette.applications import Starlette
    except ImportError as exc:
        raise _missing_extra(exc) from None
    if migrate is None:
        return Starlette(routes=routes)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from starlette.concurrency import run_in_threadpool

        await run_in_threadpool(migrate.run)  # raises: the app does not start
        yield

    return Starlette(routes=routes, lifespan=lifespan)


class _AutoMigrate:
    """``AUTO_MIGRATE=true`` for the app: :func:`lamina.startup` once, in the app's lifespan.

    A mounted app gets no lifespan of its own (Starlette runs only the outer app's), so the
    first request runs it instead, before answering; a failure is then the answer (503, the
    startup error), every time, as an app that must not start cannot be stopped from inside.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.error: LaminaError | None = None
        self._done = False
        self._lock = threading.Lock()

    def run(self) -> None:
        """Run startup once (later calls wait for the first, then return or re-raise)."""
        with self._lock:
            if self.error is not None:
                raise self.error
            if self._done:
                return
            try:
                Lamina(self.settings).startup(logger=logging.getLogger("lamina.server"))
            except LaminaError as exc:
                self.error = exc
                raise
            finally:
                self._done = True


def health_routes(
    config: Settings | Mapping[str, object] | None = None,
    *,
    token: str | None = None,
    prefix: str = "/api/health",
) -> list[Route]:
    """The two health routes, for a Starlette or FastAPI app's own router.

    ``prefix`` is the basic endpoint's path; the detailed one is ``{prefix}/detailed``.
    Arguments and errors as for :func:`create_app`.
    """
    settings = config if isinstance(config, Settings) else load_settings(config)
    return _routes(settings, token=token, prefix=prefix, migrate=None)


def _routes(
    settings: Settings, *, token: str | None, prefix: str, migrate: _AutoMigrate | None
) -> list[Route]:
    try:
        from starlette.routing import Route
    except ImportError as exc:
        raise _missing_extra(exc) from None
    expected = token if token is not None else settings.health_token
    if expected is not None and not expected.strip():
        # Fail closed: an empty token would otherwise be read as "no token needed".
        setting, source = (
            ("token", "argument") if token is not None else ("health_token", "settings")
        )
        raise ConfigError(
            setting,
            source,
            "must not be empty",
            hint="set a real secret, or leave it unset to serve the details without one",
        )
    base = "/" + prefix.strip("/") if prefix.strip("/") else ""
    return [
        Route(base or "/", _endpoint(settings, detailed=False, token=None, migrate=migrate)),
        Route(
            f"{base}/detailed", _endpoint(settings, detailed=True, token=expected, migrate=migrate)
        ),
    ]


def serve(
    config: Settings | Mapping[str, object] | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the health endpoints with uvicorn until interrupted (``lamina serve``).

    ``on_ready`` gets :func:`listening_line` once the server listens (after ``AUTO_MIGRATE``'s
    startup, if any, and after the port is bound, so the line is never printed for a server
    that did not start). Exits as ``uvicorn.run`` does (status 3) when the app did not start.

    Raises:
        ConfigError: the settings are unusable.
        BackendUnavailableError: Starlette or uvicorn is not installed (``lamina[server]``).
    """
    try:
        import uvicorn
        from uvicorn.config import STARTUP_FAILURE
    except ImportError as exc:
        raise _missing_extra(exc) from None
    settings = config if isinstance(config, Settings) else load_settings(config)
    app = create_app(settings)
    line = listening_line(settings, host=host, port=port)

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started and on_ready is not None:
                on_ready(line)

    server = Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    with suppress(KeyboardInterrupt):  # uvicorn stopped on Ctrl+C and re-raised it
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)  # as uvicorn.run: it did not start, and uvicorn logged why


def listening_line(settings: Settings, *, host: str, port: int) -> str:
    """What ``lamina serve`` prints when it starts: where it listens, the engine and the
    database (its URL without the password), and whether the details need a token."""
    from lamina.engines import spec_for

    url = settings.database_url
    where = f"[{host}]" if ":" in host else host
    token = (
        "needs a bearer token (LAMINA_HEALTH_TOKEN)"
        if settings.health_token
        else "is open (set LAMINA_HEALTH_TOKEN to require a bearer token)"
    )
    return (
        f"lamina serve: listening on http://{where}:{port} (GET /api/health, "
        f"/api/health/detailed) for {spec_for(url).title} {url.redacted()}; the detailed "
        f"endpoint {token}"
    )


def _endpoint(
    settings: Settings, *, detailed: bool, token: str | None, migrate: _AutoMigrate | None
) -> Callable[[Request], Awaitable[Response]]:
    """The request handler for one of the documents; ``token`` None serves it to anyone."""
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse

    expected = token.encode("utf-8") if token is not None else None
    lamina = Lamina(settings)  # one per endpoint: unchanged migration files are not re-read

    async def health(request: Request) -> Response:
        if expected is not None and not _authorized(request, expected):
            return JSONResponse(
                UNAUTHORIZED, status_code=401, headers={"WWW-Authenticate": "Bearer", **NO_STORE}
            )
        try:
            if migrate is not None:  # mounted: no lifespan ran it (a no-op once it has run)
                await run_in_threadpool(migrate.run)
            document: dict[str, Any] = await run_in_threadpool(lamina.health, detailed=detailed)
        except LaminaError as exc:
            document = _failed(exc, startup=migrate is not None and migrate.error is exc)
        return JSONResponse(document, status_code=http_status(document), headers=NO_STORE)

    return health


def _authorized(request: Request, expected: bytes) -> bool:
    """Whether the request carries ``Authorization: Bearer <expected>``, compared in constant
    time so response timing does not reveal how much of a guess was right."""
    scheme, _, given = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), expected)


def _failed(exc: LaminaError, *, startup: bool = False) -> dict[str, Any]:
    """An unhealthy document for a check that could not run at all (the migrations folder
    vanished, or AUTO_MIGRATE's startup failed): a probe must get an answer it understands,
    never a bare 500."""
    what = "Startup migrations failed" if startup else "Health check failed"
    return {
        "component": COMPONENT,
        "status": "unhealthy",
        "message": f"{what}: {exc.message}",
        "details": {
            "currentVersion": None,
            "totalMigrations": None,
            "pendingMigrations": None,
            "lastMigration": None,
        },
    }


def _missing_extra(exc: ImportError) -> BackendUnavailableError:
    return BackendUnavailableError(
        f"the health server needs the server extra ({exc.name or 'starlette'} is not installed)",
        hint=INSTALL_HINT,
    )
