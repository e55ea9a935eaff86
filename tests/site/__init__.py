"""Local fixture news site for fetch/ingest tests."""
