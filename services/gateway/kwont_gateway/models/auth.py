"""Tokens, users and API keys."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from kwont_gateway.principal import Role, Scope


class TokenPublic(BaseModel):
    """An access token (JWT) and the refresh token that renews it."""

    access_token: str
    token_type: str = Field("bearer", examples=["bearer"])
    expires_in: int = Field(description="Seconds until the access token expires.", examples=[900])
    refresh_token: str = Field(description="Opaque; single use (rotated by /auth/refresh).")
    refresh_expires_in: int = Field(examples=[1209600])
    role: Role


class RefreshCreate(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class UserCreate(BaseModel):
    username: str = Field(pattern=r"^[a-zA-Z0-9_.-]{3,40}$", examples=["alice"])
    password: str = Field(min_length=10, max_length=200, examples=["correct horse battery"])
    role: Role = "trader"


class UserPublic(BaseModel):
    id: str
    username: str
    role: Role
    disabled: bool = False
    created_at: dt.datetime


class UserUpdate(BaseModel):
    """An admin's change of a user; any change ends the user's sessions at once."""

    role: Role | None = None
    disabled: bool | None = Field(None, description="A disabled user cannot sign in.")
    password: str | None = Field(None, min_length=10, max_length=200)


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=10, max_length=200)


class MePublic(BaseModel):
    id: str
    username: str
    role: Role
    via: str = Field(examples=["token"])
    scope: Scope


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=80, examples=["my-bot"])
    scope: Scope = Field("read", description="`read`: GET only; `trade`: also create/cancel.")
    expires_in_days: int | None = Field(
        None,
        ge=1,
        le=365,
        description="Lifetime in days; default and maximum `KWONT_API_KEY_MAX_DAYS` (365).",
    )


class ApiKeyPublic(BaseModel):
    id: str
    name: str
    scope: Scope
    created_at: dt.datetime
    expires_at: dt.datetime | None = Field(description="None only for keys made before expiry.")
    last_used_at: dt.datetime | None = Field(description="Updated at most once a minute.")
    revoked: bool


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The secret key; shown only in this answer.")
