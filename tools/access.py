#!/usr/bin/env python3
"""Least privilege: a RabbitMQ user and a PostgreSQL role per service (see shared/access.py).

    python tools/access.py permissions            # each service's user: configure / write / read
    python tools/access.py secrets                # add the missing passwords to .env (never printed)
    python tools/access.py broker [--vhost /]     # users, permissions, topology on this machine's broker
                                                  #   (rabbitmqctl import_definitions, as root)
    python tools/access.py definitions            # deploy/access/definitions.json for the compose broker
    python tools/access.py database --admin-url postgresql://postgres@127.0.0.1:5432/postgres

Passwords come from the environment or .env: MEETDESK_BROKER_PASSWORD_<SERVICE>,
MEETDESK_BROKER_ADMIN_PASSWORD, MEETDESK_DB_PASSWORD_<SERVICE>. In the project's image the same
command is ``python -m shared.access``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from shared.access import main

if __name__ == "__main__":
    raise SystemExit(main())
