"""Recompute metrics' figures from its event log, or compact the log (ops; also ``make metrics-rebuild``).

    python -m services.metrics.rebuild                # every state and fact count from the log
    python -m services.metrics.rebuild --compact      # fold log rows older than the retention, delete them
    python -m services.metrics.rebuild --compact --before 2026-01-01
    python -m services.metrics.rebuild --status       # what the log holds

Uses the service's own settings (``MEETDESK_DATABASE_URL``, ``MEETDESK_VENUE_TIMEZONE``, the callback
window …), so it runs in the metrics container as it is (``docker compose run --rm metrics python -m
services.metrics.rebuild``). Either runs in one transaction holding the log still: the running service
keeps answering /kpis with the figures of before until it commits, and its deliveries wait meanwhile.
A changed KPI definition (a new release) is rolled out with a rebuild; so is a changed time zone or
call-back window.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shared.clock import SystemClock
from shared.db import make_engine
from shared.logs import configure_logging, get_logger
from shared.uow import Transaction

from . import domain, handlers
from .settings import MetricsSettings
from .store import MetricsStore

log = get_logger(__name__)


def policy_of(settings: MetricsSettings) -> domain.Policy:
    return settings.policy()


async def run(settings: MetricsSettings, *, compact: bool = False, before: date | None = None, status: bool = False
              ) -> dict[str, Any]:  # fmt: skip
    engine = make_engine(settings.database_url, pool_size=1)
    policy = policy_of(settings)
    now = SystemClock().now()
    t0 = time.perf_counter()
    try:
        async with engine.connect() as conn, conn.begin():
            uow = Transaction(conn, MetricsStore(conn), "metrics", now)
            if status:
                out = await uow.store.log_extent()
            elif compact:
                cutoff = before or now.astimezone(policy.tz).date() - timedelta(days=settings.log_retention_days)
                out = await handlers.compact(uow, policy, cutoff)
            else:
                out = await handlers.rebuild(uow, policy)
        if not status:  # the projections were rewritten: fresh statistics for /kpis' plans
            async with engine.connect() as conn:
                await conn.exec_driver_sql("ANALYZE entity_states, kpi_daily, kpi_by_day, kpi_day_values")
                await conn.commit()
    finally:
        await engine.dispose()
    return out | {"seconds": round(time.perf_counter() - t0, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--compact", action="store_true", help="fold and delete log rows older than the retention")
    what.add_argument("--status", action="store_true", help="how many events the log holds, from when to when")
    parser.add_argument("--before", type=date.fromisoformat, help="with --compact: the first day to keep")
    args = parser.parse_args()
    settings = MetricsSettings()
    configure_logging("metrics-rebuild", settings.log_level)
    out = asyncio.run(run(settings, compact=args.compact, before=args.before, status=args.status))
    log.info("metrics log", **{k: str(v) for k, v in out.items()}, at=datetime.now(UTC).isoformat())
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
