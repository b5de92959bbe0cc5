"""The command line answers bad input with one clear line on stderr, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FIELDCHECK_DATA_DIR": str(tmp_path / "data"), "FIELDCHECK_DATABASE_URL": ""}
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )


def _last_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("import-standard", "no-such-file.json"),
            "fieldcheck: cannot read no-such-file.json: No such file or directory",
        ),
        (("create-user", "c1", "--role", "clinic", "--password", "secret12"), "give --facility-id"),
        (("create-user", "o1", "--role", "office", "--password", "secret12"), "give --region-id"),
        (
            ("create-user", "i1", "--role", "inspector"),
            "no terminal to ask for the password: give --password",
        ),
        (("create-user", "c1", "--role", "clinic", "--facility-id", "nope"), "--facility-id must be an id"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = _run(tmp_path, *args)
    assert result.returncode == 2
    assert message in _last_line(result)
    assert result.stderr.strip().count("\n") == 0  # nothing else was printed before it


def test_a_taken_username_says_so(tmp_path: Path) -> None:
    first = _run(tmp_path, "create-user", "expert1", "--role", "inspector", "--password", "secret12")
    assert first.returncode == 0, first.stderr
    again = _run(tmp_path, "create-user", "expert1", "--role", "inspector", "--password", "secret12")
    assert again.returncode == 1
    assert _last_line(again) == "fieldcheck: username expert1 is taken"
    unknown = _run(
        tmp_path,
        "create-user",
        "c9",
        "--role",
        "clinic",
        "--password",
        "secret12",
        "--facility-id",
        "00000000-0000-4000-8000-000000000000",
    )
    assert unknown.returncode == 1
    assert "facility 00000000-0000-4000-8000-000000000000 does not exist" in _last_line(unknown)
