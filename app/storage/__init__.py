"""Storage: SQLAlchemy models, the database engine, migrations and the unit of work."""
