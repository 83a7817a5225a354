#!/usr/bin/env python3
"""Static checks on docker-compose.yml that ``docker compose config`` does not make.

    python tools/check_compose.py [docker-compose.yml]

App services (built from this project and long-running) must scale with ``--scale``: no
``container_name`` and no host ``ports``; they need a healthcheck, a restart policy, a
``stop_grace_period`` longer than the services' 15 s graceful shutdown and
``deploy.resources.limits``. Every long-running container has a healthcheck; one-shot jobs use
``restart: "no"``; every ``depends_on`` entry names a condition that its target can satisfy.

The project's image is built by exactly one service; every other project service runs that image with
``pull_policy: never`` (compose builds an image once per service with ``build:``, each with a new id
under the same tag, so the next ``up`` or ``--scale`` would recreate every container). An app
service's healthcheck asks ``/readyz`` (healthy means consuming, not just a live process).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SHUTDOWN_SECONDS = 15.0  # the services' own graceful-shutdown budget
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(us|ms|s|m|h)")
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration_seconds(value: Any) -> float | None:
    """Compose duration (``30s``, ``1m30s``, ``1500ms``; a bare number is seconds) or None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str) or not value:
        return None
    pos, total = 0, 0.0
    for m in _DURATION.finditer(value):
        if m.start() != pos:
            return None
        total += float(m[1]) * _UNITS[m[2]]
        pos = m.end()
    return total if pos == len(value) else None


def is_one_shot(spec: Mapping[str, Any]) -> bool:
    return str(spec.get("restart", "")).lower() == "no"


def project_services(services: Mapping[str, Any]) -> list[str]:
    """Services built from this project: with ``build``, or using an image a built service tags."""
    images = {s.get("image") for s in services.values() if s.get("build") and s.get("image")}
    return [n for n, s in services.items() if s.get("build") or (s.get("image") and s.get("image") in images)]


def _healthcheck_text(spec: Mapping[str, Any]) -> str:
    test = (spec.get("healthcheck") or {}).get("test")
    return " ".join(map(str, test)) if isinstance(test, list) else str(test or "")


def _has_healthcheck(spec: Mapping[str, Any]) -> bool:
    hc = spec.get("healthcheck")
    if not isinstance(hc, dict) or hc.get("disable"):
        return False
    test = hc.get("test")
    return bool(test) and test != ["NONE"]


def problems(compose: Mapping[str, Any]) -> list[str]:
    """Every problem found in a loaded compose document (empty list: all good)."""
    services = compose.get("services")
    if not isinstance(services, dict) or not services:
        return ["no services defined"]
    found: list[str] = []
    project = set(project_services(services))

    builders: dict[str, list[str]] = {}
    for name, spec in services.items():
        if (spec or {}).get("build"):
            builders.setdefault(str((spec or {}).get("image") or f"<{name}>"), []).append(name)
    for image, names in builders.items():
        if len(names) > 1:
            found.append(
                f"image {image} is built by {len(names)} services ({', '.join(names)}): build it in one and "
                f"give the others `image: {image}` with `pull_policy: never`"
            )

    for name, spec in services.items():
        spec = spec or {}
        one_shot = is_one_shot(spec)

        if not one_shot and not _has_healthcheck(spec):
            found.append(f"{name}: long-running container without a healthcheck")

        if name in project and not spec.get("build") and spec.get("pull_policy") != "never":
            found.append(f"{name}: runs the project's image without `pull_policy: never` (it would be pulled)")

        if name in project and not one_shot:  # app service
            if _has_healthcheck(spec) and "/readyz" not in _healthcheck_text(spec):
                found.append(f"{name}: its healthcheck does not ask /readyz (healthy must mean consuming)")
            if "container_name" in spec:
                found.append(f"{name}: container_name prevents `docker compose up --scale {name}=N`")
            if spec.get("ports"):
                found.append(f"{name}: publishes host ports (use `expose`; host ports prevent --scale)")
            if not spec.get("restart"):
                found.append(f"{name}: no restart policy")
            grace = duration_seconds(spec.get("stop_grace_period"))
            if grace is None:
                found.append(f"{name}: stop_grace_period missing or unparsable (need > {SHUTDOWN_SECONDS:.0f}s)")
            elif grace <= SHUTDOWN_SECONDS:
                found.append(
                    f"{name}: stop_grace_period {spec.get('stop_grace_period')} must exceed the "
                    f"{SHUTDOWN_SECONDS:.0f}s graceful shutdown"
                )
            limits = ((spec.get("deploy") or {}).get("resources") or {}).get("limits") or {}
            for key in ("cpus", "memory"):
                if not limits.get(key):
                    found.append(f"{name}: deploy.resources.limits.{key} missing")

        if name in project and one_shot and spec.get("ports"):
            found.append(f"{name}: one-shot job publishes host ports")

        depends = spec.get("depends_on")
        if depends is None:
            continue
        if isinstance(depends, list):
            found.append(
                f"{name}: depends_on is a list; use the mapping form with a condition for each of "
                f"{', '.join(map(str, depends))}"
            )
            continue
        for target, dep in depends.items():
            condition = (dep or {}).get("condition") if isinstance(dep, dict) else None
            if condition is None:
                found.append(f"{name}: depends_on {target} has no condition")
                continue
            if condition not in CONDITIONS:
                found.append(f"{name}: depends_on {target} has unknown condition {condition!r}")
            if target not in services:
                found.append(f"{name}: depends_on unknown service {target}")
                continue
            target_spec = services[target] or {}
            if condition == "service_healthy" and not _has_healthcheck(target_spec):
                found.append(f"{name}: waits for {target} to be healthy but {target} has no healthcheck")
            if condition == "service_completed_successfully" and not is_one_shot(target_spec):
                found.append(f'{name}: waits for {target} to complete but {target} is not restart: "no"')
    return found


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else ROOT / "docker-compose.yml"
    try:
        compose = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        print(f"check_compose: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    found = problems(compose if isinstance(compose, dict) else {})
    if found:
        print(f"check_compose: {len(found)} problem(s) in {path}:", file=sys.stderr)
        for problem in found:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(f"check_compose: {path.name} ok ({len(compose['services'])} services)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
