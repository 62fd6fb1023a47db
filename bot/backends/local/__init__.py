"""The local backend: SQLite job store, artifact directory, subprocess runner."""
