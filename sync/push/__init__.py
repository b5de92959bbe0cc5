"""The push path. Imports run one way, top to bottom (an import-linter contract in pyproject.toml):

- ``handler``: decode, limits, choose the runner;
- ``group_commit`` | ``transaction``: the SQLite group committer (handed the work to run) | one push in its
  transaction: client lock → load → apply → write → result window → audit;
- ``clients`` | ``load``: the ``sync_client`` row and result window | reading what the mutations name;
- ``mutators``: the registry, one module per family (answers, notes, photos, conflicts, submit);
- ``write``: the batch written back, one upsert per table;
- ``registers``: register writes decided by :mod:`sync.policy` (answers, captions, resolutions);
- ``checks``: target inspection, scope, standard, item, text;
- ``batch``: :class:`~sync.push.batch.PushBatch`, the one mutable object of a push.
"""
