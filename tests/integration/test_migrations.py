"""Migrations upgrade and downgrade on SQLite and PostgreSQL, and match the models."""

import pytest
import sqlalchemy as sa

from emailengine.db.engine import create_engine_for
from emailengine.db.migrate import SCHEMA_HEAD, current_revision, downgrade, head_revision, upgrade
from emailengine.db.models import Base


def test_schema_head_constant_equals_alembic_head():
    assert SCHEMA_HEAD == head_revision()


def test_upgrade_downgrade_upgrade(db_url):
    engine = create_engine_for(db_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == SCHEMA_HEAD
    tables = set(sa.inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert current_revision(engine) == SCHEMA_HEAD
    engine.dispose()


def test_models_equal_migrations(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine_for(db_url)
    upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == [], f"models and migrations differ: {differences}"


def test_every_revision_downgrades_one_step(sqlite_url):
    engine = create_engine_for(sqlite_url)
    upgrade(engine)
    for step in range(int(SCHEMA_HEAD), 0, -1):
        downgrade(engine, "-1")
        assert current_revision(engine) == (f"{step - 1:04d}" if step > 1 else None)
    engine.dispose()


def test_unknown_downgrade_target_is_a_usage_error(sqlite_url):
    from emailengine.errors import UsageError

    engine = create_engine_for(sqlite_url)
    upgrade(engine)
    with pytest.raises(UsageError):
        downgrade(engine, "9999")
    engine.dispose()
