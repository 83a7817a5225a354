"""Generate every service's AsyncAPI 3.0 document from the code: ``make docs``.

Writes docs/asyncapi/<service>.json (committed, linked from the README). The subscribers document
what each service consumes; the publishers carry the JSON schema of every event it emits.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("intake", "booking", "complaints", "metrics")


def main() -> int:
    out_dir = ROOT / "docs" / "asyncapi"
    out_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MEETDESK_AMQP_URL": "amqp://guest:guest@rabbitmq:5672/", "MEETDESK_LOG_LEVEL": "WARNING"}
    faststream = str(Path(sys.executable).with_name("faststream"))
    for name in SERVICES:
        target = out_dir / f"{name}.json"
        subprocess.run(
            [faststream, "docs", "gen", f"services.{name}.main:app", "--out", str(target)],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        # keys sorted: FastStream's channel order varies from run to run, the file should not
        document = json.loads(target.read_text())
        target.write_text(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=True) + "\n")
        print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
