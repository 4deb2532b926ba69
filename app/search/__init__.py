"""Full-text search: text normalization and tokenization for SQLite FTS5 (see app.search.text)."""
