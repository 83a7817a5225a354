"""Complaints' store against a real PostgreSQL: what the rules keep round-trips through the columns (the
plan's actions, the evidence, the booking's equipment), the view of the bookings keeps a cancellation
against news that raced it, and the case library finds a case in either script."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.complaints import domain
from services.complaints.domain import Action, BookingView, Policy, SlaPolicy
from services.complaints.store import ComplaintsStore
from shared.db import make_engine

from ..servers import Servers
from ..system import fresh_database

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOURS = {s: timedelta(hours=2) for s in domain.SEVERITIES}
POLICY = Policy(sla=SlaPolicy(acknowledge_within=HOURS, resolve_within={s: timedelta(days=3) for s in HOURS}))


@pytest.fixture(scope="module")
async def engine(servers: Servers) -> AsyncIterator[AsyncEngine]:
    url = await fresh_database(servers, "meetdesk_test_complaints_store", "complaints")
    eng = make_engine(url, pool_size=5)
    try:
        yield eng
    finally:
        await eng.dispose()


async def test_the_plan_evidence_and_equipment_round_trip_through_the_columns(engine: AsyncEngine) -> None:
    cid = str(uuid.uuid4())
    state = domain.new_complaint(cid, T0, POLICY, "equipment_failure", "high", "agent-7", customer_id="c-1")
    action = Action("a1", "partial_refund", "finance", T0 + timedelta(days=1), T0, "refund", 500.0)
    state = replace(state, actions=(action,), evidence=("cctv-1", "報修單"), equipment=("projector",))
    async with engine.begin() as conn:
        store = ComplaintsStore(conn)
        assert await store.add(state, inquiry_id=f"inq-{cid}", channel="email", text="投影機壞了", correlation_id="x")
        await store.append_clock(cid, 1, state.clock)
    async with engine.connect() as conn:
        back = await ComplaintsStore(conn).get(cid)
    assert back is not None
    assert (back.actions, back.evidence, back.equipment) == ((action,), ("cctv-1", "報修單"), ("projector",))


async def test_a_cancellation_stays_against_a_confirmation_that_raced_it(engine: AsyncEngine) -> None:
    booking_id = f"bk-{uuid.uuid4().hex[:8]}"
    confirmed = BookingView(booking_id, "c-1", "R-1", "Board", T0, T0 + timedelta(hours=1), ("projector",))
    cancelled = BookingView(booking_id, "c-1", "R-1", "Board", T0, T0 + timedelta(hours=1), status="cancelled")
    async with engine.begin() as conn:
        await ComplaintsStore(conn).save_booking(cancelled)
    async with engine.begin() as conn:
        await ComplaintsStore(conn).save_booking(confirmed)  # computed before the cancellation was seen
    async with engine.connect() as conn:
        store = ComplaintsStore(conn)
        view = await store.booking(booking_id)
        around = await store.customer_bookings("c-1", T0 + timedelta(hours=2))
    assert view is not None and view.status == "cancelled" and view.equipment == ("projector",)
    assert booking_id in [b.booking_id for b in around]


async def test_the_case_library_finds_a_case_in_either_script_with_its_labels(engine: AsyncEngine) -> None:
    cid = str(uuid.uuid4())
    tag = uuid.uuid4().hex[:6]
    state = domain.new_complaint(cid, T0, POLICY, "venue_environment", "normal", None, customer_id="c-2")
    async with engine.begin() as conn:
        store = ComplaintsStore(conn)
        assert await store.add(state, inquiry_id=f"inq-{cid}", channel="webform", text="x", correlation_id="y")
        record = dict.fromkeys(domain.CASE_FIELDS, "n/a") | {"problem": f"{tag}冷氣壞了 100%_hot"}
        await store.save_case(domain.make_case(state, record, "agent-7", T0))
    async with engine.connect() as conn:
        store = ComplaintsStore(conn)
        labels = {"category": "venue_environment", "root_cause": None, "service_step": None, "room_id": None}
        simplified = await store.find_cases(domain.terms(f"冷气 {tag}"), labels, limit=10)
        literal = await store.find_cases(domain.terms(f"{tag} 100%_hot"), labels, limit=10)
        wildcard = await store.find_cases(domain.terms(f"{tag} 100%x"), labels, limit=10)
        other = await store.find_cases(domain.terms(tag), {**labels, "category": "catering"}, limit=10)
    assert [str(c["complaint_id"]) for c in simplified] == [cid]
    assert [str(c["complaint_id"]) for c in literal] == [cid]
    assert wildcard == [] and other == [], "% and _ are matched as themselves; the labels filter"
