"""Running the server: one process, or N workers sharing one port through SO_REUSEPORT.

With several workers the parent prepares the database (migrations, master key) once before
starting them, so they never race to do it; every worker is stateless over the same database.
The workers share a prometheus-client multiprocess directory so /metrics adds them all up.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import sys
import tempfile

from aiohttp import web

from app import metrics
from app.config import Settings
from app.logs import configure_logging
from app.provisioning.master_key import load_master_key
from app.provisioning.services import open_services
from app.web.app import create_app, runner_options
from storage import describe_url

log = logging.getLogger("haimaker")


def tenant_url(settings: Settings) -> str:
    base = (
        settings.public_url.rstrip("/")
        if settings.public_url
        else f"http://{settings.host}:{settings.port}"
    )
    return base + settings.tenant_path


def _announce(settings: Settings) -> None:
    log.info(
        "haimaker SCIM listening on http://%s:%s (workers: %s), database %s, tenant URL %s",
        settings.host,
        settings.port,
        settings.workers,
        describe_url(settings.database_url),
        tenant_url(settings),
    )


def fast_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (Linux, macOS): its transports and scheduling take about
    a third less time per request and per database round trip than asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _run_worker(settings: Settings, reuse_port: bool, announce: bool = False) -> None:
    """Serve until SIGTERM/SIGINT; then stop listening, let in-flight requests finish (up to
    `shutdown_timeout_seconds`) and close the database pool (the app's cleanup context).
    With `announce`, the listening line is logged once the socket is bound, not before."""
    configure_logging(settings.log_level, settings.log_format)
    try:
        web.run_app(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            reuse_port=reuse_port,
            print=(lambda _message: _announce(settings)) if announce else None,
            access_log=None,
            handle_signals=True,
            shutdown_timeout=settings.shutdown_timeout_seconds,
            loop=fast_event_loop(),
            **runner_options(settings),
        )
    finally:
        metrics.mark_process_dead(os.getpid())
        log.info("stopped")


async def _prepare(settings: Settings) -> None:
    services = await open_services(settings)
    try:
        _, generated = await load_master_key(services.repo, settings.master_key)
        if generated:
            print(
                f"haimaker: generated master key (shown once, store it now): {generated}",
                flush=True,
            )
    finally:
        await services.db.close()


def serve(settings: Settings) -> int:
    if settings.workers <= 1:
        _run_worker(settings, reuse_port=False, announce=True)
        return 0
    asyncio.run(_prepare(settings))
    _announce(settings)
    samples = None
    if not os.environ.get(metrics.MULTIPROCESS_ENV):
        samples = tempfile.TemporaryDirectory(prefix="haimaker-metrics-")
        os.environ[metrics.MULTIPROCESS_ENV] = samples.name  # read by the spawned workers
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_run_worker, args=(settings, True), daemon=False)
        for _ in range(settings.workers)
    ]
    for worker in workers:
        worker.start()

    def stop(signum, frame):
        for worker in workers:
            if worker.is_alive():
                worker.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for worker in workers:
        worker.join()
    if samples is not None:
        samples.cleanup()
    return max((worker.exitcode or 0) for worker in workers) if sys.platform != "win32" else 0
