from __future__ import annotations

from typing import Any

import httpx

from backend.vocabulary import say
from tests.conftest import login


async def test_login_me_logout(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    response = await client.post("/api/auth/login", json={"username": "inspector1", "password": "demo"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"token", "expiresAt", "user"}
    assert body["user"]["username"] == "inspector1"
    assert body["user"]["role"] == "inspector"
    assert set(body["user"]) >= {"id", "username", "role", "facilityId", "regionId"}
    headers = {"Authorization": f"Bearer {body['token']}"}
    me = await client.get("/api/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["id"] == body["user"]["id"]
    assert (await client.post("/api/auth/logout", headers=headers)).status_code == 204
    again = await client.get("/api/me", headers=headers)
    assert again.status_code == 401
    assert again.headers["content-type"].startswith("application/problem+json")


async def test_wrong_password_is_401_and_repeated_failures_are_throttled(
    client: httpx.AsyncClient, demo: dict[str, Any]
) -> None:
    for _ in range(5):
        response = await client.post("/api/auth/login", json={"username": "office", "password": "nope"})
        assert response.status_code == 401
        assert response.json()["code"] == "bad_credentials"
    throttled = await client.post("/api/auth/login", json={"username": "office", "password": "demo"})
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    # the code and its seconds, which the app says in the reader's language (never the English detail)
    problem = throttled.json()
    assert problem["code"] == "login_throttled"
    assert problem["params"]["retryAfter"] == int(throttled.headers["retry-after"])
    said = say(f"problem_{problem['code']}", "zh", **problem["params"])
    assert said == f"登录失败次数过多，请 {problem['params']['retryAfter']} 秒后再试"
    # Another account from another address is not affected.
    other = await login(client, "admin")
    assert other["Authorization"].startswith("Bearer ")


async def test_token_is_stored_hashed(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    from backend.accounts.tables import AuthToken

    headers = await login(client, "clinic1")
    token = headers["Authorization"].split(" ", 1)[1]
    rows = await AuthToken.select(AuthToken.token_hash)
    assert rows
    assert all(token not in row["token_hash"] for row in rows)


async def test_unknown_user_is_401(client: httpx.AsyncClient, demo: dict[str, Any]) -> None:
    response = await client.post("/api/auth/login", json={"username": "ghost", "password": "demo"})
    assert response.status_code == 401
