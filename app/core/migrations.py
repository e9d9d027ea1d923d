"""Alembic configured from code, so `zhaoshang migrate`, the app and the tests agree on one setup."""

from alembic.config import Config
from alembic.script import ScriptDirectory

from app.core.config import PROJECT_ROOT, Settings


def alembic_config(settings: Settings, database_url: str | None = None) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini")) if (PROJECT_ROOT / "alembic.ini").exists() else Config()
    config.set_main_option("script_location", str(settings.migrations_dir))
    # ConfigParser treats % as interpolation; URLs may contain percent-escapes.
    config.set_main_option("sqlalchemy.url", (database_url or settings.database_url).replace("%", "%%"))
    return config


def head_revision(settings: Settings) -> str | None:
    return ScriptDirectory.from_config(alembic_config(settings)).get_current_head()
