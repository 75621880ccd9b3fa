"""Alembic driven from code: the script location is found next to the package (wheel) or in
the checkout's migrations/, and the URL comes from the engine we already have.

SCHEMA_HEAD is the revision this code needs; a test checks it equals Alembic's head, so checking
a database costs one SELECT instead of loading Alembic's script directory on every command.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from emailengine.errors import TemporaryFailure, UsageError

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Engine

SCHEMA_HEAD = "0010"


def script_location() -> Path:
    """Return the migrations directory: inside an installed wheel, else the repository's."""
    package = Path(__file__).resolve().parent.parent
    bundled = package / "_migrations"
    if bundled.is_dir():
        return bundled
    return package.parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """Return an Alembic Config that runs against this engine's connection."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(script_location()))
    config.attributes["engine"] = engine
    return config


def current_revision(engine: Engine) -> str | None:
    """Return the database's revision, None for an empty database; TemporaryFailure if unreachable."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        with engine.connect() as connection:
            has_table = engine.dialect.has_table(connection, "alembic_version")
            if not has_table:
                return None
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (OperationalError, ProgrammingError) as error:
        first_line = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise TemporaryFailure(f"database unreachable: {first_line}", "check EE_DATABASE_URL") from None


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to a revision."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Downgrade the schema to a revision; raise UsageError for an unknown one."""
    from alembic import command
    from alembic.util import CommandError

    try:
        command.downgrade(alembic_config(engine), revision)
    except CommandError as error:
        raise UsageError(f"cannot downgrade to {revision}: {error}") from None


def head_revision() -> str:
    """Return Alembic's head revision from the scripts (used by tests and `ee db current`)."""
    from alembic.script import ScriptDirectory

    config = alembic_config(engine=None)  # type: ignore[arg-type]
    return ScriptDirectory.from_config(config).get_current_head() or ""
