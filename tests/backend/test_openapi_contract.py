"""The OpenAPI document declares security and the problem responses of every operation (openapi_contract)."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema
import pytest
from jsonschema import Draft202012Validator

from backend.errors import PROBLEM_JSON
from tests.backend.verdict.support import county_stage
from tests.conftest import login

PUBLIC = {"health", "login", "getSignedMedia", "getPublicResults"}


@pytest.fixture
async def spec(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete", "head"}
    ]


@pytest.mark.no_database
async def test_every_operation_declares_security_and_its_problems(spec: dict[str, Any]) -> None:
    assert "security" not in spec  # per operation, so that public ones can say so
    ops = operations(spec)
    assert len(ops) >= 45
    assert {op["operationId"] for _, _, op in ops} >= PUBLIC
    for method, path, op in ops:
        responses = op["responses"]
        public = op["operationId"] in PUBLIC
        assert op.get("security") == (None if public else [{"bearer": []}]), (method, path)
        expected = {"400"} if public else {"400", "401", "403", "404"}
        if method in {"POST", "PUT", "PATCH", "DELETE"}:
            expected |= {"413"} if public else {"409", "413", "422"}
        assert expected <= responses.keys(), (method, path, sorted(responses))
        for status in expected:
            content = responses[status].get("content")
            if method == "HEAD":
                assert content is None  # headers only
            else:
                assert content[PROBLEM_JSON]["schema"] == {"$ref": "#/components/schemas/Problem"}
    login_op = spec["paths"]["/api/auth/login"]["post"]
    assert {"401", "429"} <= login_op["responses"].keys()
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "code", "detail"}
    assert problem.get("additionalProperties") is not False  # problems carry more fields


@pytest.mark.no_database
async def test_structs_that_refuse_unknown_fields_say_so(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert schemas["CreateRoundRequest"]["additionalProperties"] is False


def one_of_lists(node: Any) -> list[list[Any]]:
    if isinstance(node, dict):
        own = [node["oneOf"]] if isinstance(node.get("oneOf"), list) else []
        return own + [found for value in node.values() for found in one_of_lists(value)]
    if isinstance(node, list):
        return [found for value in node for found in one_of_lists(value)]
    return []


@pytest.mark.no_database
async def test_a_message_with_an_integer_parameter_is_valid(spec: dict[str, Any]) -> None:
    # `int | float` was documented as oneOf integer/number, which no integer satisfies: a conclusion saying
    # explain_incomplete with {"n": 16} violated its own schema (found by the API fuzzing)
    for members in one_of_lists(spec):
        assert not {"integer", "number"} <= {m.get("type") for m in members if isinstance(m, dict)}, members
    message = {"$ref": "#/components/schemas/Message", "components": spec["components"]}
    value = {"code": "explain_incomplete", "params": {"items": "1.1、1.2", "n": 16, "share": 0.5}}
    jsonschema.Draft202012Validator(message).validate(value)


async def test_a_huge_year_is_refused_not_an_overflow(client: httpx.AsyncClient, demo: object) -> None:
    headers = await login(client, "admin")
    for year in ("3523061446936376734044389376", "-9223372036854775809", "1999", "2101"):
        response = await client.get("/api/rounds", params={"year": year}, headers=headers)
        assert response.status_code == 400, (year, response.text)
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
    ok = await client.get("/api/rounds", params={"year": "2026"}, headers=headers)
    assert ok.status_code == 200
    assert {r["year"] for r in ok.json()} == {2026}


@pytest.mark.no_database
async def test_options_on_a_guarded_route_is_answered_without_a_token(client: httpx.AsyncClient) -> None:
    response = await client.options("/api/sync/push")
    assert response.status_code == 204
    assert "POST" in response.headers["allow"]
    # and the route itself still needs the token
    assert (await client.post("/api/sync/push", content=b"{}")).status_code == 401


@pytest.mark.no_database
async def test_unsupported_method_is_a_405_problem_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.request("TRACE", "/api/regions")
    assert response.status_code == 405
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert {"GET", "OPTIONS"} <= set(response.headers["allow"].replace(" ", "").split(","))


def body_errors(spec: dict[str, Any], path: str, method: str, response: httpx.Response) -> list[str]:
    """What in ``response``'s JSON body its operation's OpenAPI schema (JSON Schema 2020-12) refuses."""
    content = spec["paths"][path][method]["responses"][str(response.status_code)]["content"]
    schema = {**content["application/json"]["schema"], "components": spec["components"]}
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(response.json())]


@pytest.mark.no_database
async def test_no_union_documents_a_whole_number_twice(spec: dict[str, Any]) -> None:
    """``int | float`` is one JSON number: a ``oneOf`` with ``integer`` and ``number`` refuses every whole number
    (both branches match), so a sample's message params ``{"drawn": 2}`` failed the document (ST108)."""
    found: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            types = {b.get("type") for b in node.get("oneOf", []) if isinstance(b, dict)}
            if {"integer", "number"} <= types:
                found.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for n, value in enumerate(node):
                walk(value, f"{where}/{n}")

    walk(spec, "")
    assert found == []
    params = spec["components"]["schemas"]["Message"]["properties"]["params"]["additionalProperties"]
    assert {"type": "number"} in params["oneOf"]


async def test_a_drawn_sample_and_its_siblings_match_the_document(
    client: httpx.AsyncClient, spec: dict[str, Any], demo: dict[str, Any]
) -> None:
    """The state schemathesis met once: a round with a drawn sample, whose strata's messages carry counts. The
    list and the programme's other round reads are validated against the schema the document gives them."""
    await county_stage(client, demo)  # the county verdicts that fill the city's pool
    office = await login(client, "office")
    round_id = demo["round"]
    drawn = await client.post(
        f"/api/rounds/{round_id}/samples", headers=office, json={"level": "city", "seed": "fuzz"}
    )
    assert drawn.status_code == 201, drawn.text
    assert any(isinstance(v, int) for s in drawn.json()["strata"] for v in s["message"]["params"].values())
    reads = {
        "/api/rounds/{round_id}/samples": f"/api/rounds/{round_id}/samples",
        "/api/rounds/{round_id}/dashboard": f"/api/rounds/{round_id}/dashboard",
        "/api/rounds/{round_id}/conflicts": f"/api/rounds/{round_id}/conflicts",
        "/api/rounds/{round_id}/discrepancy-rates": f"/api/rounds/{round_id}/discrepancy-rates",
        "/api/rounds": "/api/rounds",
        "/api/rounds/{round_id}": f"/api/rounds/{round_id}",
        "/api/applications": "/api/applications",
        "/api/inspections": "/api/inspections",
    }
    errors = {}
    for documented, url in reads.items():
        response = await client.get(url, headers=office)
        assert response.status_code == 200, (url, response.text)
        errors[documented] = body_errors(spec, documented, "get", response)
    assert errors == {key: [] for key in reads}
    post = "/api/rounds/{round_id}/samples"
    assert body_errors(spec, post, "post", drawn) == []
