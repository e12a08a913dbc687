"""A service's command line: `api` serves HTTP, `migrate` brings its database to head."""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Callable, Mapping
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from shared.logs import configure_logging
from shared.messaging.broker import Broker
from shared.messaging.topology import Topology, declare_consumer_queue
from shared.migrations import upgrade_to_head
from shared.settings import ServiceSettings
from shared.telemetry import configure_tracing, instrument_libraries
from shared.web.app import ServiceSpec
from shared.web.server import DrainingServer

logger = logging.getLogger("shared.entrypoint")


def run_service_cli(
    *,
    settings_factory: Callable[[], ServiceSettings],
    create_app: Callable[[ServiceSettings], FastAPI],
    migrations_dir: Path,
    extra_commands: Mapping[str, Callable[[ServiceSettings, list[str]], None]] | None = None,
) -> None:
    """Parse argv and run the chosen command for one service."""
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    api = commands.add_parser("api", help="serve HTTP (and run the relay and consumer)")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    commands.add_parser("migrate", help="apply database migrations; declare the service's queue")
    for name, command in (extra_commands or {}).items():
        extra = commands.add_parser(name, help=(command.__doc__ or "").strip())
        extra.add_argument("args", nargs="*")
    args = parser.parse_args()

    settings = settings_factory()
    configure_logging(
        service=settings.service_name, replica=settings.replica, level=settings.log_level
    )
    configure_tracing(
        service=settings.service_name, replica=settings.replica, traces_file=settings.traces_file
    )
    instrument_libraries()
    if args.command == "migrate":
        upgrade_to_head(migrations_dir, settings.async_database_url)
        logger.info("database at head")
        spec: ServiceSpec = create_app(settings).state.spec
        if keys := [contract.type for contract in spec.handlers]:
            asyncio.run(_declare_queue(settings, keys))
        return
    if extra_commands and args.command in extra_commands:
        extra_commands[args.command](settings, args.args)
        return

    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        proxy_headers=False,  # the client address is decided by the app's trusted-proxy rule
        server_header=False,
        timeout_graceful_shutdown=25,
    )
    server = DrainingServer(
        config,
        on_drain=lambda: setattr(app.state.health, "draining", True),
        drain_seconds=settings.shutdown_drain_seconds,
    )
    server.run()


async def _declare_queue(settings: ServiceSettings, routing_keys: list[str]) -> None:
    # Declared before any replica serves, so events published meanwhile wait in the queue.
    broker = Broker(settings.amqp_url, name=f"{settings.service_name}:migrate")
    try:
        channel = await (await broker.connection()).channel()
        topology = Topology(
            exchange=settings.events_exchange,
            service=settings.service_name,
            delivery_limit=settings.events_delivery_limit,
        )
        await declare_consumer_queue(channel, topology, routing_keys)
        logger.info("queue %s declared", topology.queue)
    finally:
        await broker.close()
