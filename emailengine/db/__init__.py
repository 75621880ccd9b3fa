"""Database layer: engine and sessions, models, locks, migrations. Nothing heavy at import."""
