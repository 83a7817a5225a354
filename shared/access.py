"""Least privilege on the broker and the database, derived from the topology.

Each service connects to RabbitMQ as its own user ``meetdesk-<service>`` and to PostgreSQL as its own
role ``meetdesk_<service>``. The broker user's permissions (RabbitMQ's configure / write / read regular
expressions, per virtual host) are derived from :mod:`shared.topology`, so they cannot drift from it:

- **configure**: its own queues and their dead-letter queues (it declares them at start; the exchanges
  are the topology step's);
- **write**: the exchanges it publishes to (``topology.PUBLISHES``), and its own queues and dead-letter
  queues (binding a queue needs write on the queue);
- **read**: its own queues (it consumes them; not their dead-letter queues: ``make dlq`` is an
  operator's), and the exchanges its queues are bound to (binding needs read on the exchange;
  reading an exchange gives no message).

So a service cannot consume another service's queue, publish to an exchange it does not own (the
broker closes the channel: ``ACCESS_REFUSED``), or declare, purge or delete anything but its own queues.
The users of the services that send commands (intake) are accepted as the services' principal by the
receiving services (:func:`sibling_command_users`, used by ``ServiceSettings.publisher_principals``).

The database role owns its own database ``meetdesk_<service>`` and nothing else; CONNECT on that
database is revoked from PUBLIC, so no other service's role may open it (:func:`setup_database`).

Secrets never live in the repository: the passwords come from the environment (or ``.env``) as
``MEETDESK_BROKER_PASSWORD_<SERVICE>``, ``MEETDESK_BROKER_ADMIN_PASSWORD`` and
``MEETDESK_DB_PASSWORD_<SERVICE>``; ``tools/access.py secrets`` makes the missing ones.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .topology import (
    COMMANDS,
    DEAD_LETTER_QUEUE_ARGUMENTS,
    DLX,
    EXCHANGES,
    PUBLISHES,
    QUEUES,
    SERVICES,
    queues_of,
)

BROKER_USER = "meetdesk-{service}"
BROKER_ADMIN_USER = "meetdesk-admin"
DATABASE = "meetdesk_{service}"
DATABASE_ROLE = "meetdesk_{service}"
NOTHING = "^$"  # RabbitMQ's "no resource" pattern
HASHING = "rabbit_password_hashing_sha256"
_SIBLING = re.compile(r"^(?P<prefix>.*)meetdesk-(?P<service>[a-z]+)$")


def broker_user(service: str, prefix: str = "") -> str:
    """The RabbitMQ user of ``service``; ``prefix`` keeps parallel installations (test runs) apart."""
    return prefix + BROKER_USER.format(service=service)


def database_role(service: str, prefix: str = "") -> str:
    return prefix + DATABASE_ROLE.format(service=service)


# -- the broker ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BrokerPermissions:
    """RabbitMQ's three regular expressions of a user in a virtual host."""

    configure: str
    write: str
    read: str


def exactly(names: Iterable[str]) -> str:
    """A RabbitMQ permission pattern matching exactly ``names`` (and nothing when there are none)."""
    names = sorted(set(names))
    return "^(" + "|".join(re.escape(n) for n in names) + ")$" if names else NOTHING


def broker_permissions(service: str) -> BrokerPermissions:
    """What ``service``'s broker user may configure, write and read: derived from the topology."""
    own = [name for spec in queues_of(service) for name in (spec.name, spec.dead_letter_queue)]
    bound_from = {exchange for spec in queues_of(service) for exchange, _ in spec.bindings}
    if own:
        bound_from.add(DLX)  # its dead-letter queues are bound to the DLX
    return BrokerPermissions(
        configure=exactly(own),
        write=exactly([*own, *PUBLISHES[service]]),
        read=exactly([*(spec.name for spec in queues_of(service)), *bound_from]),
    )


def command_senders() -> tuple[str, ...]:
    """The services that send commands (publish to meetdesk.commands)."""
    return tuple(s for s in SERVICES if COMMANDS in PUBLISHES[s])


def sibling_command_users(own_user: str) -> tuple[str, ...]:
    """When a service connects as its own user ``<prefix>meetdesk-<service>``: the users of the
    services that send commands, with the same prefix (``meetdesk-intake``); none when it connects
    as a user the services share (guest on a development broker: their commands carry that user)."""
    prefix = installation_prefix(own_user)
    return () if prefix is None else tuple(broker_user(s, prefix) for s in command_senders())


def installation_admin(own_user: str) -> str | None:
    """The administrator of the installation whose service connects as ``own_user``
    (``<prefix>meetdesk-admin``: the topology step, ``make dlq``, ``make demo``), or None."""
    prefix = installation_prefix(own_user)
    return None if prefix is None else prefix + BROKER_ADMIN_USER


def installation_prefix(own_user: str) -> str | None:
    """The prefix of a service's own user ``<prefix>meetdesk-<service>``; None for any other user."""
    match = _SIBLING.match(own_user)
    return match["prefix"] if match and match["service"] in SERVICES else None


def rabbit_password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's ``rabbit_password_hashing_sha256``: base64(salt + SHA-256(salt + password)), 4-byte salt."""
    salt = os.urandom(4) if salt is None else salt
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def definitions(
    passwords: Mapping[str, str],
    *,
    vhost: str = "/",
    admin_password: str | None = None,
    prefix: str = "",
    delivery_limit: int = 5,
    topology: bool = True,
) -> dict[str, Any]:
    """A RabbitMQ definitions document (``load_definitions`` at boot, ``rabbitmqctl import_definitions``,
    ``POST /api/definitions``): the service users (``passwords``: service → password; salted hashes
    only) with their permissions in ``vhost``, an administrator when ``admin_password`` is given, and
    with ``topology`` the exchanges, queues (with the services' arguments for ``delivery_limit``) and
    bindings — the topology step."""
    users: list[dict[str, Any]] = []
    permissions: list[dict[str, Any]] = []
    if admin_password is not None:
        admin = prefix + BROKER_ADMIN_USER
        users.append(_user(admin, admin_password, ["administrator"]))
        permissions.append({"user": admin, "vhost": vhost, "configure": ".*", "write": ".*", "read": ".*"})
    for service in SERVICES:
        if service not in passwords:
            continue
        user = broker_user(service, prefix)
        users.append(_user(user, passwords[service], []))
        perms = broker_permissions(service)
        permissions.append(
            {"user": user, "vhost": vhost, "configure": perms.configure, "write": perms.write, "read": perms.read}
        )
    doc: dict[str, Any] = {"users": users, "vhosts": [{"name": vhost}], "permissions": permissions}
    if topology:
        doc["exchanges"] = [
            {"name": name, "vhost": vhost, "type": "topic", "durable": True, "auto_delete": False}
            | {"internal": False, "arguments": {}}
            for name in EXCHANGES
        ]
        queues: list[dict[str, Any]] = []
        bindings: list[dict[str, Any]] = []
        for spec in QUEUES:
            queues.append(_queue(spec.name, vhost, spec.arguments(delivery_limit)))
            queues.append(_queue(spec.dead_letter_queue, vhost, DEAD_LETTER_QUEUE_ARGUMENTS))
            for exchange, key in spec.bindings:
                bindings.append(_binding(exchange, spec.name, key, vhost))
            bindings.append(_binding(DLX, spec.dead_letter_queue, spec.name, vhost))
        doc |= {"queues": queues, "bindings": bindings}
    return doc


def _user(name: str, password: str, tags: list[str]) -> dict[str, Any]:
    return {"name": name, "password_hash": rabbit_password_hash(password), "hashing_algorithm": HASHING, "tags": tags}


def _queue(name: str, vhost: str, arguments: Mapping[str, object]) -> dict[str, Any]:
    return {"name": name, "vhost": vhost, "durable": True, "auto_delete": False, "arguments": dict(arguments)}


def _binding(exchange: str, queue: str, key: str, vhost: str) -> dict[str, Any]:
    return {
        "source": exchange,
        "vhost": vhost,
        "destination": queue,
        "destination_type": "queue",
        "routing_key": key,
        "arguments": {},
    }


# -- the database ----------------------------------------------------------------------------------
async def setup_database(admin_url: str, service: str, password: str, *, prefix: str = "", database: str = "") -> None:
    """As a superuser (``admin_url``, asyncpg form, any database): the role ``<prefix>meetdesk_<service>``
    (LOGIN, ``password``, no other attribute) owns the database ``database`` (default
    ``meetdesk_<service>``; created when missing) and every relation, type and function in it; CONNECT
    and TEMP on that database are revoked from PUBLIC. Idempotent: run it again to rotate the password
    or to hand an existing database (made by the ``postgres`` user) over to its role."""
    import asyncpg

    role = database_role(service, prefix)
    database = database or DATABASE.format(service=service)
    admin_url = admin_url.replace("+asyncpg", "", 1)  # the SQLAlchemy form is welcome too
    admin = await asyncpg.connect(admin_url)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
        verb = "ALTER" if exists else "CREATE"
        await _run(admin, f"{verb} ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L", role, password)
        if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            await _run(admin, "ALTER DATABASE %I OWNER TO %I", database, role)
        else:
            await _run(admin, "CREATE DATABASE %I OWNER %I", database, role)
        await _run(admin, "REVOKE ALL ON DATABASE %I FROM PUBLIC", database)
    finally:
        await admin.close()
    inside = await asyncpg.connect(_with_database(admin_url, database))
    try:
        async with inside.transaction():
            await _run(inside, "ALTER SCHEMA public OWNER TO %I", role)
            for kind, name in await inside.fetch(_NOT_OWNED, role):
                await _run(inside, f"ALTER {kind} {name} OWNER TO %I", role)
    finally:
        await inside.close()


# what a database made by another user holds and its role must own: relations (sequences that belong
# to a table move with it), types of its own (enums, domains) and functions, outside the system schemas
_NOT_OWNED = """
SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                      WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, c.oid::regclass::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND pg_get_userbyid(c.relowner) <> $1
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                  AND d.deptype IN ('a', 'i', 'e'))
UNION ALL
SELECT 'TYPE', t.oid::regtype::text
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype IN ('e', 'd') AND pg_get_userbyid(t.typowner) <> $1
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid
                  AND d.deptype = 'e')
UNION ALL
SELECT 'FUNCTION', p.oid::regprocedure::text
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE pg_get_userbyid(p.proowner) <> $1
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                  AND d.deptype = 'e')
"""


async def _run(conn: Any, template: str, *args: str) -> None:
    """Run DDL built by the server's own ``format()`` (identifiers %I and literals %L quoted there)."""
    placeholders = ", ".join(f"${i}::text" for i in range(1, len(args) + 1))
    await conn.execute(await conn.fetchval(f"SELECT format('{template}', {placeholders})", *args))


def _with_database(url: str, database: str) -> str:
    head, _, tail = url.partition("?")
    scheme, _, rest = head.partition("://")
    server = rest.split("/", 1)[0]
    return f"{scheme}://{server}/{database}" + (f"?{tail}" if tail else "")


# -- secrets ---------------------------------------------------------------------------------------------
def secret_names() -> dict[str, str]:
    """Every secret this module needs: environment variable → what it is for."""
    out = {"MEETDESK_BROKER_ADMIN_PASSWORD": f"RabbitMQ user {BROKER_ADMIN_USER} (the topology step, ops)"}
    for service in SERVICES:
        out[broker_password_var(service)] = f"RabbitMQ user {broker_user(service)}"
        out[database_password_var(service)] = f"PostgreSQL role {database_role(service)}"
    return out


def broker_password_var(service: str) -> str:
    return f"MEETDESK_BROKER_PASSWORD_{service.upper()}"


def database_password_var(service: str) -> str:
    return f"MEETDESK_DB_PASSWORD_{service.upper()}"


def new_password() -> str:
    """A password safe inside a URL without quoting (hex)."""
    return secrets.token_hex(24)


# -- the command line (tools/access.py; ``python -m shared.access`` in the image) ---------------------------
def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines (comments, ``export``, quotes), as compose reads ``.env``."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, val = line.removeprefix("export ").partition("=")
        val = val.strip()
        if len(val) >= 2 and val[0] == val[-1] and val[0] in "'\"":
            val = val[1:-1]
        values[key.strip()] = val
    return values


def add_missing_secrets(path: Path, environ: Mapping[str, str] = os.environ) -> list[str]:
    """Append a new password to ``path`` (mode 600) for every secret neither it nor ``environ`` has;
    the names added."""
    have = read_env_file(path) | dict(environ)
    missing = [name for name in secret_names() if not have.get(name)]
    if missing:
        fresh = not path.exists()
        with path.open("a") as f:
            if not fresh and not path.read_text().endswith("\n"):
                f.write("\n")
            for name in missing:
                f.write(f"{name}={new_password()}\n")
        path.chmod(0o600)
    return missing


def _secrets(args: argparse.Namespace) -> dict[str, str]:
    return read_env_file(Path(args.env_file)) | dict(os.environ)


def _need(found: Mapping[str, str], names: Iterable[str]) -> dict[str, str]:
    names = list(names)
    missing = [n for n in names if not found.get(n)]
    if missing:
        raise SystemExit(f"access: {', '.join(missing)} not set: run `python tools/access.py secrets` (writes .env)")
    return {n: found[n] for n in names}


def _definitions(args: argparse.Namespace) -> dict[str, Any]:
    found = _secrets(args)
    passwords = _need(found, (broker_password_var(s) for s in SERVICES))
    return definitions(
        {s: passwords[broker_password_var(s)] for s in SERVICES},
        vhost=args.vhost,
        admin_password=found.get("MEETDESK_BROKER_ADMIN_PASSWORD") or None,
        prefix=args.prefix,
        delivery_limit=args.delivery_limit,
        topology=not args.no_topology,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="access", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--env-file", default=".env", help="where the passwords are kept (default .env)")
    sub = parser.add_subparsers(dest="step", required=True)
    sub.add_parser("permissions", help="print each service's broker user and its configure / write / read")
    sub.add_parser("secrets", help="add the missing passwords to the env file (never printed)")
    for name, what in (
        ("definitions", "write the RabbitMQ definitions file (users, permissions, topology) for load_definitions"),
        ("broker", "set the users, permissions and topology up on this machine's broker (rabbitmqctl)"),
    ):
        p = sub.add_parser(name, help=what)
        p.add_argument("--vhost", default="/")
        p.add_argument("--prefix", default="", help="before every user name (parallel installations, tests)")
        p.add_argument("--delivery-limit", type=int, default=int(os.environ.get("MEETDESK_DELIVERY_LIMIT", "5")))
        p.add_argument("--no-topology", action="store_true", help="users and permissions only")
        if name == "definitions":
            p.add_argument("--out", default="deploy/access/definitions.json")
    p = sub.add_parser("database", help="a PostgreSQL role per service owning only its own database")
    p.add_argument(
        "--admin-url",
        default=os.environ.get("MEETDESK_DB_ADMIN_URL", ""),
        help="a superuser's URL, e.g. postgresql://postgres@127.0.0.1:5432/postgres (default MEETDESK_DB_ADMIN_URL)",
    )
    p.add_argument("--prefix", default="", help="before every role name")
    p.add_argument("--service", action="append", choices=SERVICES, help="only this service (repeatable)")
    args = parser.parse_args(argv)

    if args.step == "permissions":
        for service in SERVICES:
            perms = broker_permissions(service)
            print(broker_user(service))
            for what in ("configure", "write", "read"):
                print(f"  {what:9} {getattr(perms, what)}")
    elif args.step == "secrets":
        added = add_missing_secrets(Path(args.env_file))
        print(f"access: {len(added)} new in {args.env_file}: {', '.join(added) or 'none'}")
    elif args.step == "definitions":
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(_definitions(args), indent=2) + "\n")
        out.chmod(0o644)  # the broker's own user reads it; it holds salted hashes, never a password
        print(f"access: wrote {out} (vhost {args.vhost})")
    elif args.step == "broker":
        tool = shutil.which("rabbitmqctl")
        if tool is None:
            raise SystemExit("access: rabbitmqctl is not on this machine (a compose broker loads the definitions file)")
        doc = json.dumps(_definitions(args))
        done = subprocess.run([tool, "import_definitions"], input=doc.encode(), capture_output=True, timeout=120)
        if done.returncode:
            raise SystemExit(f"access: rabbitmqctl import_definitions failed: {(done.stderr or done.stdout).decode()}")
        print(f"access: broker users meetdesk-* set up in vhost {args.vhost} ({len(SERVICES)} services)")
    elif args.step == "database":
        if not args.admin_url:
            raise SystemExit("access: --admin-url (or MEETDESK_DB_ADMIN_URL) is needed")
        services = args.service or SERVICES
        found = _need(_secrets(args), (database_password_var(s) for s in services))
        # a step of a migration job in compose: its lines are JSON like every other line the job writes
        from .logs import configure_logging, get_logger

        configure_logging(f"{services[0]}-migrate" if len(services) == 1 else "access")
        log = get_logger("shared.access")
        for service in services:
            asyncio.run(
                setup_database(args.admin_url, service, found[database_password_var(service)], prefix=args.prefix)
            )
            log.info(
                "database role owns its database",
                role=database_role(service, args.prefix),
                database=DATABASE.format(service=service),
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
