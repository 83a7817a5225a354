"""Each service's migrations build exactly the schema its models describe, and stand alone.

The migrations are the truth for existing databases; ``models.py`` is what the code queries. A
fresh database per service (``meetdesk_test_schema_<service>``) is migrated to head and compared with
``models.metadata`` by Alembic's autogenerate (tables, columns, types, nullability, server defaults,
primary and foreign keys, unique constraints, indexes; not check or exclusion constraints, triggers or
extensions, which autogenerate does not compare).

A migration imports only alembic, sqlalchemy and the standard library: an old revision must keep
creating what it created when it was written, whatever later happens to the code in shared/ or services/.
"""

from __future__ import annotations

import ast
import importlib
import pprint
import sys
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shared.db import make_engine

from ..servers import Servers
from ..system import ROOT, fresh_database

SERVICES = ("intake", "booking", "complaints", "metrics")
VERSION_TABLE = "alembic_version"
MIGRATIONS = sorted(ROOT.glob("services/*/migrations/versions/*.py"))
ALLOWED_TOP_LEVEL = frozenset({"alembic", "sqlalchemy", "__future__"}) | sys.stdlib_module_names


def _not_the_version_table(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
    return not (type_ == "table" and name == VERSION_TABLE)


def _differences(sync_conn: sa.Connection, metadata: sa.MetaData) -> list[Any]:
    opts = {"compare_type": True, "compare_server_default": True, "include_name": _not_the_version_table}
    return compare_metadata(MigrationContext.configure(sync_conn, opts=opts), metadata)


def _show(value: Any) -> str:
    if isinstance(value, sa.DefaultClause):
        return f"DEFAULT {value.arg}" if isinstance(value.arg, sa.TextClause) else f"DEFAULT {value.arg!r}"
    if isinstance(value, sa.Table):
        return f"table {value.name}({', '.join(value.columns.keys())})"
    if isinstance(value, sa.Column):
        return f"column {value.table.name}.{value.name} {value.type}{'' if value.nullable else ' NOT NULL'}"
    if isinstance(value, sa.Index | sa.UniqueConstraint | sa.ForeignKeyConstraint | sa.PrimaryKeyConstraint):
        kind = type(value).__name__
        return f"{kind} {value.name} on {value.table.name}({', '.join(c.name for c in value.columns)})"
    if isinstance(value, sa.types.TypeEngine):
        return str(value)
    return pprint.pformat(value, width=200, compact=True)


def _readable(diffs: list[Any]) -> str:
    """One difference a line, ``operation: what, ...`` (a column's changes come grouped in a list:
    one line each)."""
    lines = []
    for diff in diffs:
        for op, *args in diff if isinstance(diff, list) else [diff]:
            if op.startswith("modify_"):  # (schema, table, column, existing attributes, database, models)
                _, table, column, _, in_database, in_models = args
                lines.append(
                    f"  {op}: {table}.{column}: {_show(in_database)} in the database, {_show(in_models)} in the models"
                )
            else:
                lines.append(f"  {op}: " + ", ".join(_show(a) for a in args if a is not None))
    return "\n".join(lines)


@pytest.mark.integration
@pytest.mark.parametrize("service", SERVICES)
async def test_the_migrated_schema_of_each_service_equals_its_models(servers: Servers, service: str) -> None:
    metadata = importlib.import_module(f"services.{service}.models").metadata
    url = await fresh_database(servers, f"meetdesk_test_schema_{service}", service)
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            diffs = await conn.run_sync(_differences, metadata)
    finally:
        await engine.dispose()
    assert diffs == [], (
        f"{service}: the migrated database differs from services/{service}/models.py "
        f"(Alembic's view: what it would do to the database to match the models):\n{_readable(diffs)}"
    )


def _imported_modules(tree: ast.Module) -> list[tuple[int, str]]:
    """(line, module) for every import statement, and for ``importlib.import_module("x")`` /
    ``__import__("x")`` calls with a literal name; a relative import is reported with its dots."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.append((node.lineno, "." * node.level + (node.module or "")))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def test_the_migrations_import_only_alembic_sqlalchemy_and_the_standard_library() -> None:
    assert len(MIGRATIONS) >= len(SERVICES), f"no migrations found under {ROOT}/services/*/migrations/versions/"
    offending = []
    for path in MIGRATIONS:
        tree = ast.parse(path.read_text(), filename=str(path))
        for line, module in _imported_modules(tree):
            if module.startswith(".") or module.split(".")[0] not in ALLOWED_TOP_LEVEL:
                offending.append((path.relative_to(ROOT), line, module))
    offending.sort()
    assert not offending, (
        "a migration imports more than alembic, sqlalchemy and the standard library "
        "(write what it needs out in the migration instead):\n"
        + "\n".join(f"  {path}:{line}: {module}" for path, line, module in offending)
    )
