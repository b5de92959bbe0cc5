"""The push's OpenAPI text names every mutation the protocol knows (it used to list 8 of 12)."""

from __future__ import annotations

import httpx
import pytest

from sync.mutations import MUTATION_NAMES


@pytest.mark.no_database
async def test_the_push_description_names_every_mutation(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    description = spec["paths"]["/api/sync/push"]["post"]["description"]
    listed = description.split("Mutation names: ", 1)[1].split(".", 1)[0]
    assert set(listed.split(", ")) == MUTATION_NAMES
