"""Offline-first sync with the shared PostgreSQL server (see docs/architecture.md, ../shared/design/sync.md)."""
