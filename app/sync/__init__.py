"""Offline-first sync with the shared PostgreSQL server.

See docs/architecture.md and ../shared/design/sync.md.
"""
