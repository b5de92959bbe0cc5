"""The server's malloc settings: freed request-body buffers are reused instead of faulted in again."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from backend.allocator import tune_for_large_bodies

_ROOT = Path(__file__).resolve().parents[2]

# 200 rounds of 16 body-sized buffers (256 KiB) held together and freed, as a streamed upload does; prints the
# page faults the rounds cost (after a warm-up), in a fresh process so the settings start at glibc's defaults
_ROUNDS = textwrap.dedent(
    """
    import resource, sys
    from backend.allocator import tune_for_large_bodies
    if sys.argv[1] == "tuned":
        assert tune_for_large_bodies()
    def rounds(n):
        for _ in range(n):
            held = [b"x" * (256 * 1024) for _ in range(16)]
            del held
    rounds(5)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    rounds(200)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    """
)


def _faults(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _ROUNDS, mode],
        cwd=_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return int(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_tuning_applies_on_glibc() -> None:
    assert tune_for_large_bodies() is True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_body_buffers_are_reused_instead_of_faulted_in_again() -> None:
    default, tuned = _faults("default"), _faults("tuned")
    # glibc's defaults give the 4 MiB of each round back to the kernel: about a fault per 4 KiB page
    assert default > 100_000
    assert tuned < default / 100
