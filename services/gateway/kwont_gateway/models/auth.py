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
    """A refresh token to trade for a new access token."""

    refresh_token: str = Field(min_length=1, max_length=200)


class UserCreate(BaseModel):
    """A new user; the password is stored only as an argon2id hash."""

    username: str = Field(pattern=r"^[a-zA-Z0-9_.-]{3,40}$", examples=["alice"])
    password: str = Field(min_length=10, max_length=200, examples=["correct horse battery"])
    role: Role = "trader"


class UserPublic(BaseModel):
    """A user as an admin sees it; never the password hash."""

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
    """Your current password and the new one (10 characters or more)."""

    current_password: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=10, max_length=200)


class MePublic(BaseModel):
    """The caller: user, role, and the credential used (token or API key) with its scope."""

    id: str
    username: str
    role: Role
    via: str = Field(examples=["token"])
    scope: Scope


class ApiKeyCreate(BaseModel):
    """A new API key: its name, scope and lifetime."""

    name: str = Field(min_length=1, max_length=80, examples=["my-bot"])
    scope: Scope = Field("read", description="`read`: GET only; `trade`: also create/cancel.")
    expires_in_days: int | None = Field(
        None,
        ge=1,
        le=365,
        description="Lifetime in days; default and maximum `KWONT_API_KEY_MAX_DAYS` (365).",
    )


class ApiKeyPublic(BaseModel):
    """An API key without its secret."""

    id: str
    name: str
    scope: Scope
    created_at: dt.datetime
    expires_at: dt.datetime | None = Field(description="None only for keys made before expiry.")
    last_used_at: dt.datetime | None = Field(description="Updated at most once a minute.")
    revoked: bool


class ApiKeyCreated(ApiKeyPublic):
    """A just-created API key with its secret; store it now, it is not shown again."""

    key: str = Field(description="The secret key; shown only in this answer.")
