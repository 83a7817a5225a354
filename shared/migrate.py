"""Create a service's database if it is missing and run its Alembic migrations to head.

    python -m shared.migrate booking            # uses MEETDESK_DATABASE_URL
    python -m shared.migrate booking --url postgresql+asyncpg://...

Safe to run concurrently and repeatedly (the compose file runs it as a one-shot job per service).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
from pathlib import Path

from alembic import command
from alembic.config import Config

from .db import create_database_if_missing
from .logs import configure_logging, get_logger
from .settings import ServiceSettings

SERVICES = ("intake", "booking", "complaints", "metrics")


def alembic_config(service: str, url: str) -> Config:
    package = importlib.import_module(f"services.{service}")
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(package.__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def migrate(service: str, url: str) -> None:
    if service not in SERVICES:
        raise SystemExit(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    created = asyncio.run(create_database_if_missing(url))
    log = get_logger(__name__)
    log.info("database ready", migrating=service, created=created)
    command.upgrade(alembic_config(service, url), "head")
    log.info("migrations at head", migrating=service)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("service", choices=SERVICES)
    parser.add_argument("--url", help="database URL (default: MEETDESK_DATABASE_URL)")
    args = parser.parse_args()
    settings = ServiceSettings(service=args.service)
    configure_logging(f"{args.service}-migrate", settings.log_level)  # every line JSON, alembic's too
    migrate(args.service, args.url or settings.database_url)


if __name__ == "__main__":
    main()
