"""Complaints with three replicas, on the real broker and database, time moved through the services' clock:
every breach and every escalation step is emitted exactly once, however the replicas share the due items;
and a replica killed with SIGKILL in the middle of the run loses none of them.

For these tests the system's complaints process is replaced by one with three workers (three processes
consuming the same queues and firing the same ``due_items``; ``MEETDESK_SCHEDULER_BATCH=10`` so that the
due items are spread over many small transactions, hence over the replicas); the original is started
again afterwards. The complaints are registered with the clock where it stands, then the clock is moved
past the formal reply's target (two hours for a normal complaint) and both escalation delays (the
supervisor 30 minutes after the breach, the manager 60 minutes after that): every complaint then owes a
warning, a breach and three escalation steps, fired by whichever replica takes them.

"Exactly once" is about what happened, not about deliveries: the outbox may publish an event again after
a crash (the same event id, which consumers absorb), so the events are counted by event id, and the
complaints' history and SLA log in the database are counted too.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from ..conftest import System
from ..system import ServiceProcess
from .builders import staff_chain

pytestmark = pytest.mark.integration

REPLICAS = 3
COMPLAINTS = 60
FORMAL_REPLY = timedelta(hours=2)  # a normal complaint (an on-site entry without a severity)
PAST_THE_CHAIN = FORMAL_REPLY + timedelta(minutes=30 + 60 + 1)  # the breach, the supervisor, the manager
LEVELS = {1: "agent", 2: "supervisor", 3: "manager"}


@pytest_asyncio.fixture(scope="module")
async def replicas(system: System, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ServiceProcess]:
    """Complaints as three worker processes in place of the system's one (put back afterwards)."""
    own = system.services["complaints"]
    own.stop()
    three = ServiceProcess(
        "complaints",
        system.servers,
        tmp_path_factory.mktemp("complaints-replicas"),
        workers=REPLICAS,
        clock_file=system.clock_file,
        extra_env={**own.extra_env, "MEETDESK_SCHEDULER_BATCH": "10"},
    )
    try:
        three.start()
        await three.wait_ready()
        yield three
    finally:
        three.stop()
        await system.reset_clock()
        own.start()
        await own.wait_ready()


@pytest_asyncio.fixture
async def clock(system: System) -> AsyncIterator[System]:
    try:
        yield system
    finally:
        await system.reset_clock()


async def _register(system: System, agent: str, count: int) -> list[str]:
    """``count`` on-site complaints recorded now (the services' now), handled by ``agent``; their ids."""
    entries = [
        {
            "kind": "complaint",
            "entry_id": f"rep-{uuid.uuid4()}",
            "recorded_at": system.now().isoformat(),
            "staff_id": agent,
            "booking_id": f"bk-{uuid.uuid4().hex[:8]}",
            "customer": {"name": "Ho", "email": f"{uuid.uuid4().hex}@example.com"},
            "text": "The projector in room 3 kept switching off during the board meeting.",
            "category": "equipment_failure",
        }
        for _ in range(count)
    ]
    await asyncio.gather(
        *(system.publisher.publish("meetdesk.inbound", "onsite", e, message_id=e["entry_id"]) for e in entries)
    )
    refs = {e["entry_id"] for e in entries}
    inquiries = await system.watcher.wait_for(
        lambda e: e.type == "inquiry.received" and e.data["source_ref"] in refs, count=count, timeout=30
    )
    ids = {e.data["inquiry_id"] for e in inquiries}
    registered = await system.watcher.wait_for(
        lambda e: e.type == "complaint.registered" and e.data["inquiry_id"] in ids, count=count, timeout=30
    )
    return sorted({e.data["complaint_id"] for e in registered})


def _fired(system: System, complaint_ids: set[str]) -> dict[tuple[str, str], set[str]]:
    """(complaint, what) → the distinct event ids announcing it: the breach, and each escalation level."""
    out: dict[tuple[str, str], set[str]] = defaultdict(set)
    for e in system.watcher.matching(
        lambda e: (
            e.type in ("complaint.sla_breached", "complaint.escalated") and e.data["complaint_id"] in complaint_ids
        )
    ):
        what = "breach" if e.type == "complaint.sla_breached" else f"level {e.data['level']}"
        out[e.data["complaint_id"], what].add(e.body["event_id"])
    return out


EXPECTED = ("breach", "level 1", "level 2", "level 3")


async def _wait_all_fired(system: System, complaint_ids: set[str], timeout: float = 40.0) -> None:
    """Until every complaint's breach and three escalation steps have been seen (an event a killed
    replica committed but did not relay is relayed by another one a little later), or the timeout."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        fired = _fired(system, complaint_ids)
        if all(fired.get((c, w)) for c in complaint_ids for w in EXPECTED):
            break
        await asyncio.sleep(0.25)
    await asyncio.sleep(1.5)  # anything fired twice (a second event id) would show up now


async def _assert_each_once(system: System, people: dict[str, str], complaint_ids: set[str]) -> None:
    fired = _fired(system, complaint_ids)
    missing = [(c, w) for c in complaint_ids for w in EXPECTED if not fired.get((c, w))]
    assert not missing, f"{len(missing)} breaches or escalation steps never emitted, e.g. {missing[:3]}"
    twice = {k: v for k, v in fired.items() if len(v) > 1}
    assert not twice, f"emitted more than once: {list(twice.items())[:3]}"
    for e in system.watcher.matching(
        lambda e: e.type == "complaint.escalated" and e.data["complaint_id"] in complaint_ids
    ):
        assert (e.data["role"], e.data["who"]) == (LEVELS[e.data["level"]], people[LEVELS[e.data["level"]]])

    # what the complaints recorded: one breach and three escalation entries each, one breached clock entry
    rows = await system.query(
        "complaints",
        "SELECT complaint_id::text AS cid, action, count(*) AS n FROM complaint_history"
        " WHERE complaint_id::text = ANY($1) AND action IN ('complaint.sla_breached', 'complaint.escalated')"
        " GROUP BY 1, 2",
        sorted(complaint_ids),
    )
    recorded = Counter({(r["cid"], r["action"]): r["n"] for r in rows})
    for cid in complaint_ids:
        assert (recorded[cid, "complaint.sla_breached"], recorded[cid, "complaint.escalated"]) == (1, 3), cid
    left = await system.query(
        "complaints",
        "SELECT count(*) AS n FROM due_items WHERE key = ANY($1) AND kind LIKE 'complaint.acknowledge%'",
        sorted(complaint_ids),
    )
    assert left[0]["n"] == 0, "nothing of the formal reply's chain is left to fire (the manager is the top)"


def _replicas_that_fired(log: Path) -> set[int]:
    """The worker processes that logged a due item of these tests' run (handlers.clock_due logs its pid)."""
    pids = set()
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == "complaint due item" and "pid" in entry:
            pids.add(entry["pid"])
    return pids


def _workers(supervisor: int) -> list[int]:
    """The supervisor's worker processes (its children running the app, not multiprocessing's helpers)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == supervisor and b"spawn_main" in cmdline:
            found.append(int(entry))
    return sorted(found)


async def test_three_replicas_emit_every_breach_and_escalation_step_exactly_once(
    replicas: ServiceProcess, clock: System
) -> None:
    system = clock
    people = await staff_chain(system)
    complaint_ids = set(await _register(system, people["agent"], COMPLAINTS))
    assert len(complaint_ids) == COMPLAINTS
    assert _fired(system, complaint_ids) == {}, "nothing is due yet"

    await system.move_clock(PAST_THE_CHAIN.total_seconds())
    await _wait_all_fired(system, complaint_ids)
    await _assert_each_once(system, people, complaint_ids)
    assert replicas.proc is not None
    log = replicas.log_dir / f"complaints.{replicas.starts}.log"
    assert len(_replicas_that_fired(log)) >= 2, "the replicas shared the due items"


async def test_a_replica_killed_mid_run_loses_no_breach_and_no_escalation_step(
    replicas: ServiceProcess, clock: System
) -> None:
    system = clock
    people = await staff_chain(system)
    complaint_ids = set(await _register(system, people["agent"], COMPLAINTS))
    assert replicas.proc is not None
    workers = _workers(replicas.proc.pid)
    assert len(workers) == REPLICAS, workers

    await system.move_clock(PAST_THE_CHAIN.total_seconds())
    await system.watcher.wait_for(
        lambda e: e.type == "complaint.escalated" and e.data["complaint_id"] in complaint_ids,
        count=5,
        timeout=30,
    )
    # mid-run: its open batch transaction dies with it. (The supervisor, uvicorn's, then restarts its
    # workers — the two others after finishing what they hold; the items left are fired by whoever runs.)
    os.kill(workers[0], signal.SIGKILL)
    at_kill = sum(len(v) for v in _fired(system, complaint_ids).values())
    assert at_kill < COMPLAINTS * len(EXPECTED), f"the kill did not land mid-run ({at_kill} already emitted)"

    await _wait_all_fired(system, complaint_ids, timeout=60)
    await _assert_each_once(system, people, complaint_ids)
