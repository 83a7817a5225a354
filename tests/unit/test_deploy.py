"""The compose file and the native runner cannot drift, and the compose file stays scalable."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from shared.access import secret_names
from tools.check_compose import problems
from tools.run_local import PlanError, load_plan

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
# the services' broker and database passwords (tools/access.py secrets), as .env would hold them
SECRETS = {name: f"pw-{name.lower()}" for name in secret_names()}


def test_make_run_starts_exactly_the_compose_commands_and_environment() -> None:
    plan = load_plan(COMPOSE, env={"MEETDESK_API_TOKEN": "a-local-secret-of-some-length", **SECRETS})
    compose = yaml.safe_load(COMPOSE.read_text())["services"]
    assert sorted(j.name for j in plan.services) == ["booking", "complaints", "console", "intake", "metrics"]
    assert sorted(j.name for j in plan.migrations) == [
        f"{s}-migrate" for s in ("booking", "complaints", "intake", "metrics")
    ]
    # the console: HTTP only (no broker, no database), the four services reached on this machine
    # what must answer before anything starts: the broker and the database, not the services the console names
    assert sorted(name for name, _, _ in plan.endpoints) == ["postgres", "rabbitmq"]
    console = next(j for j in plan.services if j.name == "console")
    assert console.command[:2] == ["uvicorn", "services.console.main:app"]
    assert "MEETDESK_DATABASE_URL" not in console.environment and "MEETDESK_AMQP_URL" not in console.environment
    assert console.environment["MEETDESK_BOOKING_URL"] == "http://127.0.0.1:8002"
    for job in (j for j in plan.services if j.name != "console"):
        spec = compose[job.name]
        assert job.command[:3] == ["faststream", "run", f"services.{job.name}.main:app"]
        assert job.environment["MEETDESK_SERVICE"] == job.name
        assert job.environment["MEETDESK_HTTP_PORT"] == spec["environment"]["MEETDESK_HTTP_PORT"]
        # the same database and broker, with the compose hostnames mapped to this machine, each service
        # as its own broker user and database role
        assert job.environment["MEETDESK_DATABASE_URL"] == (
            f"postgresql+asyncpg://meetdesk_{job.name}:pw-meetdesk_db_password_{job.name}"
            f"@127.0.0.1:5432/meetdesk_{job.name}"
        )
        assert job.environment["MEETDESK_AMQP_URL"] == (
            f"amqp://meetdesk-{job.name}:pw-meetdesk_broker_password_{job.name}@127.0.0.1:5672/"
        )
        assert set(job.environment) >= {k for k in spec["environment"] if not k.startswith("<<")}


def test_the_deployment_does_not_start_without_an_api_token() -> None:
    with pytest.raises(PlanError, match="MEETDESK_API_TOKEN"):
        load_plan(COMPOSE, env={})


def test_overrides_from_the_environment_reach_both() -> None:
    plan = load_plan(COMPOSE, env={"BOOKING_WORKERS": "3", "MEETDESK_API_TOKEN": "s3cret", **SECRETS})
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


def test_the_image_is_built_by_one_service_and_the_others_never_pull_it() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    assert [n for n, s in services.items() if s.get("build")] == ["intake-migrate"]
    twice = copy.deepcopy(compose)
    twice["services"]["booking"]["build"] = {"context": "."}
    assert any("built by 2 services (intake-migrate, booking)" in p for p in problems(twice))
    pulled = copy.deepcopy(compose)
    del pulled["services"]["metrics"]["pull_policy"]
    assert problems(pulled) == ["metrics: runs the project's image without `pull_policy: never` (it would be pulled)"]


def test_an_app_service_is_healthy_only_while_it_consumes() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    for name in ("intake", "booking", "complaints", "metrics"):
        test = " ".join(compose["services"][name]["healthcheck"]["test"])
        port = compose["services"][name]["environment"]["MEETDESK_HTTP_PORT"]
        assert f"/dev/tcp/127.0.0.1/{port}" in test and "GET /readyz" in test and "' 200'" in test
    alive_only = copy.deepcopy(compose)
    alive_only["services"]["complaints"]["healthcheck"]["test"] = ["CMD", "curl", "-f", "http://127.0.0.1:8003/healthz"]
    assert problems(alive_only) == ["complaints: its healthcheck does not ask /readyz (healthy must mean consuming)"]


def test_prometheus_and_the_edge_find_every_replica_of_every_app_service_by_its_compose_name() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    ports = {
        n: int(compose["services"][n]["environment"]["MEETDESK_HTTP_PORT"])
        for n in ("intake", "booking", "complaints", "metrics", "console")
    }
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())["scrape_configs"]
    found = {
        name: sd["port"]
        for job in scrape
        for sd in job.get("dns_sd_configs", [])
        if sd["type"] == "A"
        for name in sd["names"]
    }
    assert found == ports
    prometheus = compose["services"]["prometheus"]
    assert prometheus["profiles"] == ["monitoring"]
    assert "./deploy/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in prometheus["volumes"]
    caddy = (ROOT / "deploy" / "Caddyfile").read_text()
    # each route dials its service by name (Docker's DNS answers every replica there is now), a new
    # connection per request, retried for a while when it cannot be made
    assert {m[0]: int(m[1]) for m in re.findall(r"reverse_proxy (\w+):(\d+) \{", caddy)} == ports
    directives = [ln.strip() for ln in caddy.splitlines() if not ln.lstrip().startswith("#")]
    assert "lb_try_duration 5s" in directives and "keepalive off" in directives
    assert not any(d.startswith("dynamic") for d in directives)


def test_the_image_reuses_its_dependency_layer_when_only_the_code_changes() -> None:
    lines = [ln.strip() for ln in (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines()]
    assert not any(ln.lower().startswith("# syntax=") for ln in lines), "BuildKit would fetch a frontend image"
    steps = [ln for ln in lines if ln.split(" ", 1)[0] in {"FROM", "COPY", "RUN"}]
    install = next(i for i, ln in enumerate(steps) if "pip install -r" in ln)
    first_code = next(i for i, ln in enumerate(steps) if ln.startswith("COPY") and ("shared" in ln or " . " in ln))
    assert [ln for ln in steps[:install] if ln.startswith("COPY")] == ["COPY pyproject.toml /tmp/pyproject.toml"]
    assert install < first_code
