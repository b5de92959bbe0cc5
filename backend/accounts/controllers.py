from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, patch, post, put
from litestar.datastructures import State
from litestar.params import FromPath, JSONBody

from backend.accounts import experts, resolvers, services
from backend.accounts.auth import current_user, requires_role
from backend.accounts.schemas import (
    ConflictResolverOut,
    CreateExpertRequest,
    CreateUserRequest,
    ExpertOut,
    LoginRequest,
    LoginResponse,
    SetConflictResolverRequest,
    UpdateExpertRequest,
    UpdateUserRequest,
    UserOut,
)
from backend.client_address import client_address
from backend.errors import TooManyRequests, Unauthorized
from backend.guards import AuthUser
from backend.metrics import Metrics
from backend.openapi_contract import problem_responses
from backend.settings import Settings


class AuthController(Controller):
    path = "/api"
    tags = ["auth"]

    @post(
        "/auth/login",
        operation_id="login",
        status_code=200,
        security=[],
        responses=problem_responses(401, 429),  # wrong credentials; throttled after repeated failures
    )
    async def login(self, data: JSONBody[LoginRequest], request: Request[Any, Any, State]) -> LoginResponse:
        settings: Settings = request.app.state.settings
        address = client_address(
            request.client.host if request.client else None,
            request.headers.getall("x-forwarded-for", []),
            settings.trusted_proxies,
        )
        try:
            return await services.login(
                username=data.username,
                password=data.password,
                address=address,
                ttl_seconds=settings.token_ttl_seconds,
                max_failures=settings.login_max_failures,
                lockout_seconds=settings.login_lockout_seconds,
            )
        except (Unauthorized, TooManyRequests):
            metrics: Metrics = request.app.state.metrics
            metrics.login_failures.inc()
            raise

    @post("/auth/logout", operation_id="logout", status_code=204)
    async def logout(self, request: Request[AuthUser, str, State]) -> None:
        await services.logout(token=request.auth)

    @get("/me", operation_id="me")
    async def me(self, request: Request[AuthUser, str, State]) -> AuthUser:
        return current_user(request)


class UserAdminController(Controller):
    path = "/api/admin/users"
    tags = ["admin"]
    guards = [requires_role("admin")]

    @get("/", operation_id="listUsers")
    async def list_users(self) -> list[UserOut]:
        return await services.list_users()

    @get("/{user_id:uuid}", operation_id="getUser")
    async def get_user(self, user_id: FromPath[UUID]) -> UserOut:
        return await services.get_user(user_id=user_id)

    @post("/", operation_id="createUser")
    async def create_user(
        self, data: JSONBody[CreateUserRequest], request: Request[AuthUser, str, State]
    ) -> UserOut:
        return await services.create_user(data=data, actor_id=str(current_user(request).id))

    @patch("/{user_id:uuid}", operation_id="updateUser")
    async def update_user(
        self,
        user_id: FromPath[UUID],
        data: JSONBody[UpdateUserRequest],
        request: Request[AuthUser, str, State],
    ) -> UserOut:
        return await services.update_user(user_id=user_id, data=data, actor_id=str(current_user(request).id))


class ExpertAdminController(Controller):
    path = "/api/admin/experts"
    tags = ["admin"]
    # An office reads the expert pool to plan teams; only admin edits it.
    guards = [requires_role("admin", "office")]

    @get("/", operation_id="listExperts")
    async def list_experts(self, request: Request[AuthUser, str, State]) -> list[ExpertOut]:
        return await experts.list_experts(user=current_user(request))

    @get("/{expert_id:uuid}", operation_id="getExpert")
    async def get_expert(
        self, expert_id: FromPath[UUID], request: Request[AuthUser, str, State]
    ) -> ExpertOut:
        return await experts.get_expert(user=current_user(request), expert_id=expert_id)

    @post("/", operation_id="createExpert", guards=[requires_role("admin")])
    async def create_expert(
        self, data: JSONBody[CreateExpertRequest], request: Request[AuthUser, str, State]
    ) -> ExpertOut:
        return await experts.create_expert(user=current_user(request), data=data)

    @patch("/{expert_id:uuid}", operation_id="updateExpert", guards=[requires_role("admin")])
    async def update_expert(
        self,
        expert_id: FromPath[UUID],
        data: JSONBody[UpdateExpertRequest],
        request: Request[AuthUser, str, State],
    ) -> ExpertOut:
        return await experts.update_expert(user=current_user(request), expert_id=expert_id, data=data)


class ConflictResolverController(Controller):
    """Who at a facility resolves its conflicts: the office and admin designate, a clinic reads its own."""

    path = "/api/conflict-resolvers"
    tags = ["accounts"]
    guards = [requires_role("admin", "office", "clinic")]

    @get("/", operation_id="listConflictResolvers")
    async def list_resolvers(self, request: Request[AuthUser, str, State]) -> list[ConflictResolverOut]:
        return await resolvers.list_conflict_resolvers(user=current_user(request))

    @put(
        "/{facility_id:uuid}",
        operation_id="setConflictResolver",
        guards=[requires_role("admin", "office")],
        responses=problem_responses(404, 422),
    )
    async def set_resolver(
        self,
        facility_id: FromPath[UUID],
        data: JSONBody[SetConflictResolverRequest],
        request: Request[AuthUser, str, State],
    ) -> ConflictResolverOut:
        return await resolvers.set_conflict_resolver(
            user=current_user(request), facility_id=facility_id, user_id=data.user_id
        )
