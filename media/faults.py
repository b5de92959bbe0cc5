"""Crash points for the fault tests (tests/faults/test_upload_crash_points.py).

``FIELDCHECK_FAULT_EXIT_AT=<name>`` ends the process at that point with ``os._exit`` (no cleanup, no answer,
no flush: as a SIGKILL landing exactly there). Unset in every deployment; a check of one environment variable
otherwise. The names are those passed to :func:`crash_point`.
"""

from __future__ import annotations

import os

EXIT_AT = "FIELDCHECK_FAULT_EXIT_AT"
EXIT_STATUS = 137  # what a shell reports for a SIGKILLed process


def crash_point(name: str) -> None:
    if os.environ.get(EXIT_AT) == name:
        os._exit(EXIT_STATUS)
