"""The sync HTTP layer: ``POST /api/sync/push`` and ``/api/sync/pull`` over the engine in ``sync/``, and
what the backend fills into its seams (the standard's rules, the caller's scope, stored blobs)."""
