"""Alembic environment: the engine comes from ee (config.attributes), metadata from the models."""

from alembic import context

from emailengine.db.models import Base

target_metadata = Base.metadata
config = context.config


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        from emailengine.config import get_settings
        from emailengine.db.engine import create_engine_for

        engine = create_engine_for(get_settings().effective_database_url())
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
