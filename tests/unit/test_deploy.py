"""The compose file and the native runner cannot drift, and the compose file stays scalable."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from tools.check_compose import problems
from tools.run_local import PlanError, load_plan

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"


def test_make_run_starts_exactly_the_compose_commands_and_environment() -> None:
    plan = load_plan(COMPOSE, env={"MEETDESK_API_TOKEN": "a-local-secret-of-some-length"})
    compose = yaml.safe_load(COMPOSE.read_text())["services"]
    assert sorted(j.name for j in plan.services) == ["booking", "complaints", "intake", "metrics"]
    assert sorted(j.name for j in plan.migrations) == [
        f"{s}-migrate" for s in ("booking", "complaints", "intake", "metrics")
    ]
    for job in plan.services:
        spec = compose[job.name]
        assert job.command[:3] == ["faststream", "run", f"services.{job.name}.main:app"]
        assert job.environment["MEETDESK_SERVICE"] == job.name
        assert job.environment["MEETDESK_HTTP_PORT"] == spec["environment"]["MEETDESK_HTTP_PORT"]
        # the same database and broker, with the compose hostnames mapped to this machine
        assert job.environment["MEETDESK_DATABASE_URL"].endswith(f"@127.0.0.1:5432/meetdesk_{job.name}")
        assert job.environment["MEETDESK_AMQP_URL"] == "amqp://guest:guest@127.0.0.1:5672/"
        assert set(job.environment) >= {k for k in spec["environment"] if not k.startswith("<<")}


def test_the_deployment_does_not_start_without_an_api_token() -> None:
    with pytest.raises(PlanError, match="MEETDESK_API_TOKEN"):
        load_plan(COMPOSE, env={})


def test_overrides_from_the_environment_reach_both() -> None:
    plan = load_plan(COMPOSE, env={"BOOKING_WORKERS": "3", "MEETDESK_API_TOKEN": "s3cret"})
    booking = next(j for j in plan.services if j.name == "booking")
    assert booking.command[-2:] == ["--workers", "3"]
    assert booking.environment["MEETDESK_API_TOKEN"] == "s3cret"


def test_the_compose_file_is_scalable_and_a_broken_one_is_caught() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    assert problems(compose) == []
    broken = copy.deepcopy(compose)
    broken["services"]["booking"]["container_name"] = "booking"
    broken["services"]["booking"]["ports"] = ["8002:8002"]
    found = problems(broken)
    assert any("container_name" in p for p in found) and any("port" in p for p in found)
