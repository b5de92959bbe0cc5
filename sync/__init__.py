"""The sync engine: protocol types, push/pull, conflict rules, change tracking. Never imports ``backend``."""
