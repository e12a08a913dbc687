"""A service's command line: `api` serves HTTP, `migrate` brings its database to head, and the
service's own operator commands."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from fastapi import FastAPI
from pydantic import ValidationError

from shared.logs import configure_logging
from shared.messaging import dead_letters
from shared.messaging.broker import Broker
from shared.messaging.topology import declare_consumer_queue
from shared.messaging.workers import topology
from shared.migrations import upgrade_to_head
from shared.settings import ServiceSettings
from shared.spec import ServiceSpec
from shared.telemetry import configure_tracing, instrument_libraries
from shared.web.server import DrainingServer, server_config
from shared.web.state import process_state

logger = logging.getLogger("shared.entrypoint")
# Allocations (less deallocations) that start a collection of the youngest generation.
GC_YOUNG_THRESHOLD = 10_000

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


@dataclass(frozen=True)
class Command:
    """An operator command of one service: `python -m <package> <name> <arguments>`."""

    name: str
    help: str
    run: Callable[[Any, argparse.Namespace], None]
    """Called with the service's settings and the parsed arguments."""
    arguments: Sequence[tuple[str, str]] = field(default_factory=tuple)
    """Positional arguments, as (name, help)."""


def run_service_cli(
    *,
    spec: ServiceSpec,
    settings_factory: Callable[..., SettingsT],
    create_app: Callable[[SettingsT], FastAPI],
    commands: Sequence[Command] = (),
) -> None:
    """Parse argv and run the chosen command for one service."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {spec.name}_service", description=f"The {spec.title} service."
    )
    parser.add_argument(
        "--env-file",
        type=Path,
        help="read settings from this file too (make run writes .state/local/env/<service>.env)",
    )
    chosen = parser.add_subparsers(dest="command", required=True, metavar="command")
    api = chosen.add_parser("api", help="serve HTTP (and run the relay and consumer)")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    chosen.add_parser("migrate", help="apply database migrations; declare the service's queue")
    if spec.consumes:
        dlq = chosen.add_parser(
            "dlq",
            help="the events the consumer gave up on: list, show, replay or drop them",
            description="The service's dead-letter queue. `list` and `show` take nothing away; "
            "`replay` sends messages back to the service's own queue (its inbox still applies "
            "each at most once); `drop` deletes them for good, after --yes.",
        )
        dlq.add_argument("action", choices=["list", "show", "replay", "drop"])
        dlq.add_argument("--id", action="append", default=[], help="this message id (repeatable)")
        dlq.add_argument("--type", help="only messages of this event type")
        dlq.add_argument("--all", action="store_true", help="replay or drop every message")
        dlq.add_argument("--limit", type=int, default=100, help="list at most this many")
        dlq.add_argument("--yes", action="store_true", help="drop without asking")
    for command in commands:
        sub = chosen.add_parser(command.name, help=command.help, description=command.help)
        for name, text in command.arguments:
            sub.add_argument(name, help=text)
    args = parser.parse_args()

    settings = _load_settings(settings_factory, args.env_file)
    configure_logging(
        service=settings.service_name, replica=settings.replica, level=settings.log_level
    )
    configure_tracing(
        service=settings.service_name, replica=settings.replica, traces_file=settings.traces_file
    )
    instrument_libraries()
    if args.command == "migrate":
        upgrade_to_head(spec.migrations_dir, settings.async_database_url)
        logger.info("database at head")
        if spec.consumes:
            asyncio.run(_declare_queue(spec, settings))
        return
    if args.command == "dlq":
        _confirm_dlq_action(args, topology(spec, settings).dead_letter_queue)
        asyncio.run(_dead_letters(spec, settings, args))
        return
    for command in commands:
        if args.command == command.name:
            command.run(settings, args)
            return
    _serve(create_app(settings), settings, host=args.host, port=args.port)


def _load_settings(factory: Callable[..., SettingsT], env_file: Path | None) -> SettingsT:
    """The settings, or a readable list of what is missing or wrong (never a traceback)."""
    if env_file is not None and not env_file.is_file():
        raise SystemExit(f"no such env file: {env_file}")
    try:
        return factory(_env_file=env_file) if env_file is not None else factory()
    except ValidationError as exc:
        prefix = str(getattr(factory, "model_config", {}).get("env_prefix", ""))
        lines = [
            f"  {prefix}{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        ]
        print(  # noqa: T201 - the operator's answer, before logging is configured
            "settings are incomplete:\n"
            + "\n".join(lines)
            + f"\nSet them in the environment, or pass --env-file (against `make run`: "
            f"--env-file .state/local/env/{prefix.rstrip('_').lower()}.env).",
            file=sys.stderr,
        )
        raise SystemExit(2) from None


def _serve(app: FastAPI, settings: ServiceSettings, *, host: str, port: int) -> None:
    config = server_config(
        app,
        host=host,
        port=port,
        log_config=None,
        proxy_headers=False,  # the client address is decided by the app's trusted-proxy rule
        timeout_graceful_shutdown=25,
    )
    health = process_state(app).health
    _tune_garbage_collector()

    def drain() -> None:
        health.draining = True

    DrainingServer(config, on_drain=drain, drain_seconds=settings.shutdown_drain_seconds).run()


def _tune_garbage_collector() -> None:
    # What start-up built (modules, routes, models: ~150,000 objects) lives as long as the
    # process: frozen, no full collection walks it again (one took 0.1 s, with the event loop
    # stalled). A request's objects are freed by reference counting, but while many are in flight
    # 700 allocations (the default) start a young collection that frees nothing, about once per
    # request. Measured on a todos replica, 10 s at 128 connections: 0.85 s in collections with
    # the default, 0.02 s at 10,000.
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


async def _declare_queue(spec: ServiceSpec, settings: ServiceSettings) -> None:
    # Declared before any replica serves, so events published meanwhile wait in the queue.
    broker = Broker(settings.amqp_url, name=f"{settings.service_name}:migrate")
    try:
        channel = await (await broker.connection()).channel()
        names = topology(spec, settings)
        await declare_consumer_queue(channel, names, spec.routing_keys)
        logger.info("queue %s declared", names.queue)
    finally:
        await broker.close()


def _confirm_dlq_action(args: Any, queue: str) -> None:
    """A replay or drop names what it is for; a drop is confirmed (or --yes)."""
    if args.action in ("list", "show"):
        return
    if not (args.id or args.type or args.all):
        raise SystemExit("name the messages: --id ID, --type TYPE, or --all")
    if args.action == "drop" and not args.yes:
        answer = input(f"drop the matching dead letters of {queue} for good? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            raise SystemExit("nothing dropped")


async def _dead_letters(spec: ServiceSpec, settings: ServiceSettings, args: Any) -> None:
    broker = Broker(settings.amqp_url, name=f"{settings.service_name}:dlq")
    names = topology(spec, settings)
    chosen = dead_letters.Selection(ids=frozenset(args.id), type=args.type)
    try:
        if args.action in ("list", "show"):
            found = await dead_letters.list_dead_letters(broker, names, limit=args.limit)
            preview = 200 if args.action == "list" else None
            for letter in found:
                if chosen.matches(letter):
                    print(json.dumps(letter.summary(preview)))  # noqa: T201 - JSON lines
            return
        act = dead_letters.replay if args.action == "replay" else dead_letters.drop
        done = await act(broker, names, chosen)
        logger.info("%s: %d dead letters of %s", args.action, len(done), names.dead_letter_queue)
        print(json.dumps({args.action: done}))  # noqa: T201
    finally:
        await broker.close()
