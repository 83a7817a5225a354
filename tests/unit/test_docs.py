"""The committed AsyncAPI documents are the ones the code generates (run `make docs` after a change)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("service", ["intake", "booking", "complaints", "metrics"])
def test_asyncapi_document_is_current(service: str, tmp_path: Path) -> None:
    out = tmp_path / f"{service}.json"
    env = {**os.environ, "MEETDESK_AMQP_URL": "amqp://guest:guest@rabbitmq:5672/", "MEETDESK_LOG_LEVEL": "WARNING"}
    subprocess.run(
        [
            str(Path(sys.executable).with_name("faststream")),
            "docs",
            "gen",
            f"services.{service}.main:app",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    committed = json.loads((ROOT / "docs" / "asyncapi" / f"{service}.json").read_text())
    generated = json.loads(out.read_text())
    assert generated == committed, f"docs/asyncapi/{service}.json is stale: run `make docs`"
    channels = generated["channels"]
    assert any(c["address"].startswith(f"{service}.") for c in channels.values()), "its queues are documented"
