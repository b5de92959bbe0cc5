"""Schemathesis over /schema/openapi.json of a real server, as every demo role and anonymously, on both databases.

Checks: no 5xx, statuses, content types and bodies as the OpenAPI document declares them, invalid input
refused, 405 with Allow, and every error a problem document. ``FIELDCHECK_FUZZ_EXAMPLES`` raises the
examples per operation (the suite's default keeps it under a minute); see docs/development.md.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import FlakyStrategyDefinition, Unsatisfiable
from schemathesis import APIOperation
from schemathesis.checks import CHECKS, CheckContext
from schemathesis.config import PositiveDataAcceptanceConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode

from tests.backend.media_api.live import live_server
from tests.conftest import DB_KINDS, _pg_admin, pg_dsn

EXAMPLES = int(os.environ.get("FIELDCHECK_FUZZ_EXAMPLES", "6"))
# stateful phase: sequences of calls chained by the links schemathesis infers (ids from one response used in
# the next request), per role
STATEFUL_EXAMPLES = int(os.environ.get("FIELDCHECK_FUZZ_STATEFUL", "8"))
# `make test` sends the same cases every run, so a red run is a regression that repeats, never the luck of a
# draw; FIELDCHECK_FUZZ_RANDOM=1 (with the longer run above) explores new cases each time
DERANDOMIZE = os.environ.get("FIELDCHECK_FUZZ_RANDOM", "") != "1"
ACCOUNTS = ("admin", "office", "inspector1", "clinic1")
# logout would revoke the token the rest of the run uses; it is covered by tests/backend/accounts
SKIPPED = {"logout"}
PROBLEM_FIELDS = {"type", "title", "status", "code", "detail"}
# upload chunks are raw bytes (tus): generated as such
schemathesis.openapi.media_type("application/offset+octet-stream", st.binary(max_size=4096))


@dataclass
class Target:
    url: str
    headers: dict[str, dict[str, str]]  # account (or "anonymous") -> request headers


@pytest.fixture(scope="module", params=DB_KINDS)
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    tmp = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    env: dict[str, str] = {}
    database = f"fc_fuzz_{uuid.uuid4().hex[:12]}"
    if request.param == "postgres":
        asyncio.run(_pg_admin(f'CREATE DATABASE "{database}"'))
        env["FIELDCHECK_DATABASE_URL"] = pg_dsn(database)
    try:
        with live_server(tmp, workers=False, extra_env=env, demo_copy=True, fork=True) as server:
            headers: dict[str, dict[str, str]] = {"anonymous": {}}
            with httpx.Client(base_url=server.url, timeout=30) as client:
                for account in ACCOUNTS:
                    response = client.post("/api/auth/login", json={"username": account, "password": "demo"})
                    response.raise_for_status()
                    headers[account] = {"Authorization": f"Bearer {response.json()['token']}"}
            yield Target(server.url, headers)
    finally:
        if request.param == "postgres":
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


def problem_detail(ctx: CheckContext, response: schemathesis.Response, case: schemathesis.Case) -> bool:
    """Every 4xx/5xx answer with a body is an RFC 9457 problem document whose status is the HTTP status."""
    if response.status_code < 400 or case.method.upper() == "HEAD":
        return True
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/problem+json"), (response.status_code, content_type)
    body = response.json()
    assert isinstance(body, dict)
    assert body.keys() >= PROBLEM_FIELDS, body
    assert body["status"] == response.status_code, body
    return True


# every check schemathesis has (4.32: server errors, status codes, content types, headers, bodies, negative
# data refused, positive data accepted, missing headers, unsupported methods, Allow, use after free, resource
# availability, ignored auth, object-level authorization)
ALL_CHECKS = CHECKS.get_all()
# schema-valid input may still be refused by a rule across fields (a clinic user needs its facility): that is
# 422 here ("a rule of the domain refuses it"), never 400, so positive data must get anything but a 400
POSITIVE_ACCEPTED = PositiveDataAcceptanceConfig(
    expected_statuses=[*PositiveDataAcceptanceConfig().expected_statuses, "422"]
)


def fuzz_schema(target: Target) -> Any:
    schema = schemathesis.openapi.from_url(f"{target.url}/schema/openapi.json")
    # the token is ours to send (per role); unknown query parameters are ignored by design, not refused
    schema.config.generation.update(with_security_parameters=False, allow_extra_parameters=False)
    schema.config.checks.positive_data_acceptance = POSITIVE_ACCEPTED
    return schema


# requests sent, for the figures of a longer run (printed with -s)
SENT = {"cases": 0, "stateful": 0}


def fuzz_operation(operation: APIOperation, target: Target, mode: GenerationMode) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=DERANDOMIZE,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        phases=[Phase.generate],  # no shrinking: the first failure of each operation is reported as is
    )
    def run(case: schemathesis.Case) -> None:
        for headers in target.headers.values():
            SENT["cases"] += 1
            case.call_and_validate(
                base_url=target.url, headers=headers, checks=ALL_CHECKS, additional_checks=[problem_detail]
            )

    run()


def test_api_as_every_role(target: Target) -> None:
    # (pytest 9 and schemathesis' own pytest integration disagree; the operations are walked here instead)
    schema = fuzz_schema(target)
    failures: list[str] = []
    tested = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.definition.raw.get("operationId") in SKIPPED:
            continue
        tested += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz_operation(operation, target, mode)
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to get wrong (no parameter, no body)
            except (Exception, FailureGroup) as error:  # every operation is fuzzed, then all are reported
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): {error}")
    assert tested >= 45
    sys.stdout.write(f"\nfuzz: {tested} operations, {SENT['cases']} requests so far\n")
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("account", ACCOUNTS)
def test_stateful_as_every_role(target: Target, account: str) -> None:
    """Sequences of calls as one role: what one call returns (ids, links) feeds the next; every check."""
    schema = fuzz_schema(target).exclude(operation_id=list(SKIPPED))
    machine = schema.as_state_machine()
    headers = target.headers[account]
    failed: list[
        str
    ] = []  # every failed check as it happens (Hypothesis' replay of it may not reach it again)

    class AsRole(machine):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:
            return {"base_url": target.url, "headers": headers}

        def validate_response(
            self,
            response: schemathesis.Response,
            case: schemathesis.Case,
            additional_checks: object = None,
            **kwargs: object,
        ) -> None:
            SENT["stateful"] += 1
            try:
                super().validate_response(response, case, additional_checks=[problem_detail], **kwargs)
            except (Exception, FailureGroup) as error:
                failed.append(f"{case.method.upper()} {case.path}: {error}")
                raise

    try:
        run_as_role(AsRole)
    except FlakyStrategyDefinition:
        # Hypothesis replays a draw and finds the live server's state changed under it (a bundle of ids that
        # was full is empty now), so the sequence cannot be drawn again: a limit of the harness against a
        # stateful server, not of the API. A check that failed before it (whose replay this may be) still fails
        assert not failed, "\n\n".join(failed)
        assert SENT["stateful"] > 0
        sys.stdout.write(
            f"\nstateful as {account}: stopped by a changed server state (FlakyStrategyDefinition)\n"
        )
        return
    sys.stdout.write(f"\nstateful as {account}: {SENT['stateful']} stateful requests so far\n")


def run_as_role(machine: Any) -> None:
    machine.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=6,
            derandomize=DERANDOMIZE,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            phases=[Phase.generate],
        )
    )
