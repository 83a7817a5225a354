"""Complaint commands per second for one complaints process, in bursts, beside a bare aio-pika
baseline in the same run.

    make bench-complaints     # or: .venv/bin/python bench/complaints.py --commands 1000 --rounds 3

Complaints runs as a real process (``faststream run``, one worker) on a fresh database. Before each
burst, untimed, as many complaints as the burst has commands are registered from ``inquiry.received``
events (as intake publishes them). The burst then publishes one ``complaint.acknowledge`` per complaint
onto ``meetdesk.commands`` at once, as agents' tools would: each is a whole command's work — the
complaint loaded and locked, the rules applied, the formal reply's clock met, the history entry and the
SLA log appended, ``complaint.status_changed``, ``complaint.clock`` and the customer's
``notification.requested`` emitted through the outbox, the due items re-planned (the acknowledgement's
warning and breach cancelled), the command id claimed. A command is done when its
``complaint.status_changed`` is seen; commands per second = commands / (last done − first publish).

Baseline, in the same run: a bare aio-pika consumer on a durable quorum queue that decodes the JSON
and republishes it with publisher confirms to a queue a sink drains (bench/intake_throughput.py's),
fed the same command bodies. The bursts alternate (baseline, complaints; --rounds times) and the
medians are compared. Also printed: complaints' CPU time per command (all its processes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.intake_throughput import Baseline, group_cpu_seconds
from shared.contract.events import CustomerRef, InquiryReceived, make_event
from shared.topology import COMMANDS, EVENTS
from tests.servers import resolve
from tests.system import EventWatcher, Publisher, ServiceProcess, prepare_databases, reset_queues

DB_SUFFIX = "_bench"


def inquiries(n: int) -> list[tuple[str, bytes]]:
    """(inquiry id, envelope) of ``n`` complaints from ``n`` customers, received now."""
    out = []
    for _ in range(n):
        inquiry_id = str(uuid.uuid4())
        data = InquiryReceived(
            inquiry_id=inquiry_id,
            channel="webform",
            source_ref=f"bench-{inquiry_id}",
            conversation_id=f"bench-{inquiry_id}",
            customer=CustomerRef(
                customer_id=f"bench-{inquiry_id[:8]}", name="Bench", email=f"bench-{inquiry_id[:8]}@example.com"
            ),
            intent="complaint",
            language="en",
            text="The projector in room 3 kept switching off during our board meeting.",
            received_at=datetime.now(UTC),
            category="equipment_failure",
        )
        out.append((inquiry_id, make_event(data, producer="bench", correlation_id=uuid.uuid4()).to_bytes()))
    return out


def acknowledgements(complaint_ids: list[str]) -> list[tuple[str, bytes]]:
    """(command id, body) of complaint.acknowledge, one per complaint."""
    out = []
    for cid in complaint_ids:
        command_id = str(uuid.uuid4())
        body = {"command_id": command_id, "actor": "bench-agent", "complaint_id": cid, "note": "Called the customer"}
        out.append((command_id, json.dumps(body).encode()))
    return out


class Complaints:
    """One complaints process (one worker) on its own database."""

    def __init__(self, servers, log_dir: Path):
        self.servers = servers
        self.proc = ServiceProcess("complaints", servers, log_dir, db_suffix=DB_SUFFIX)
        self.watcher = EventWatcher(servers, keys=("complaint.registered", "complaint.status_changed"))
        self.pub = Publisher(servers)
        self.cpu: list[float] = []

    async def start(self) -> None:
        await asyncio.to_thread(prepare_databases, self.servers, ("complaints",), db_suffix=DB_SUFFIX)
        await self.watcher.start()
        await self.pub.start()
        self.proc.start()
        await self.proc.wait_ready()
        await self.burst(await self.register(100))  # warm-up

    async def register(self, n: int) -> list[str]:
        """``n`` new complaints (not timed); their ids."""
        items = inquiries(n)
        await asyncio.gather(*(self.pub.publish(EVENTS, "inquiry.received", body, message_id=i) for i, body in items))
        ids = {i for i, _ in items}
        found = await self.watcher.wait_for(
            lambda e: e.type == "complaint.registered" and e.data["inquiry_id"] in ids, count=n, timeout=300
        )
        return [e.data["complaint_id"] for e in found]

    async def burst(self, complaint_ids: list[str]) -> float:
        assert self.proc.proc is not None
        wanted = set(complaint_ids)
        items = acknowledgements(complaint_ids)
        cpu0 = group_cpu_seconds(self.proc.proc.pid)
        t0 = time.perf_counter()
        await asyncio.gather(
            *(self.pub.publish(COMMANDS, "complaint.acknowledge", body, message_id=i) for i, body in items)
        )
        done = await self.watcher.wait_for(
            lambda e: e.type == "complaint.status_changed" and e.data["complaint_id"] in wanted,
            count=len(wanted),
            timeout=300,
        )
        finished = max(e.received for e in done)
        self.cpu.append((group_cpu_seconds(self.proc.proc.pid) - cpu0) / len(items))
        return len(items) / (finished - t0)

    async def stop(self) -> None:
        await self.watcher.stop()
        await self.pub.stop()
        self.proc.stop()


async def main(args: argparse.Namespace, servers) -> None:
    log_dir = Path(tempfile.mkdtemp(prefix="bench-complaints-"))
    print(f"logs in {log_dir}", flush=True)
    await reset_queues(servers)
    complaints = Complaints(servers, log_dir)
    baseline = Baseline(servers, quorum=True)
    await complaints.start()
    await baseline.start()
    rates: dict[str, list[float]] = {"baseline quorum": [], "complaints": []}
    try:
        for r in range(args.rounds):
            ids = await complaints.register(args.commands)
            items = acknowledgements(ids)
            b_rate, _ = await baseline.burst([("complaint.acknowledge", body, i) for i, body in items])
            rates["baseline quorum"].append(b_rate)
            print(f"round {r + 1}: {'baseline quorum':<16} {b_rate:7.0f} msg/s", flush=True)
            rate = await complaints.burst(ids)
            rates["complaints"].append(rate)
            print(f"round {r + 1}: {'complaints':<16} {rate:7.0f} commands/s", flush=True)
    finally:
        await baseline.stop()
        await complaints.stop()
    print(
        f"\ncomplaints (1 worker): bursts of {args.commands} complaint.acknowledge, one per open complaint "
        "(the clock met, history, SLA log, three events through the outbox, due items re-planned)"
    )
    for name, values in rates.items():
        print(f"{name:<16} median {statistics.median(values):7.0f}/s ({', '.join(f'{v:.0f}' for v in values)})")
    print(f"complaints CPU per command: {1000 * statistics.median(complaints.cpu[-args.rounds :]):.2f} ms")
    ratio = statistics.median(rates["complaints"]) / statistics.median(rates["baseline quorum"])
    print(f"ratio complaints / baseline quorum: {ratio:.2f}")


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commands", type=int, default=1000, help="commands per burst")
    parser.add_argument("--rounds", type=int, default=3, help="bursts per contestant, alternating")
    args = parser.parse_args()
    servers = resolve()
    asyncio.run(main(args, servers))


if __name__ == "__main__":
    run()
