"""Response and request models of the portal API that are the web layer's own.

Consumption, phases, latest values and device status use the consumption
package's models as they are (portal_api/consumption/schemas.py).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from portal_api.consumption.schemas import IsoDatetime

__all__ = [
    "CredentialRequestIn",
    "CredentialRequestOut",
    "CustomerOut",
    "DeviceOut",
    "MeOut",
    "Message",
    "PasswordChangeIn",
    "ResetIn",
    "ResetRequestIn",
    "SiteOut",
    "TokenOut",
    "UserOut",
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Message(_Model):
    detail: str


class TokenOut(_Model):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class UserOut(_Model):
    id: int
    username: str
    display_name: str | None
    email: str | None
    language: str


class CustomerOut(_Model):
    id: int
    number: str
    name: str
    kind: str


class MeOut(_Model):
    user: UserOut
    role: str
    customer: CustomerOut | None


class PasswordChangeIn(_Model):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class ResetRequestIn(_Model):
    login: str = Field(min_length=1, max_length=254, description="username or e-mail")


class ResetIn(_Model):
    token: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=1024)


class CredentialRequestIn(_Model):
    customer_number: str | None = Field(default=None, pattern=r"^[0-9]{10}$")
    contact_email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    note: str = Field(default="", max_length=1000)


class CredentialRequestOut(_Model):
    id: int
    customer_id: int | None
    contact_email: str
    note: str
    received_at: IsoDatetime
    due_at: IsoDatetime
    state: str
    handled_by: int | None
    handled_at: IsoDatetime | None


class DeviceOut(_Model):
    id: str
    kind: str
    meter_model: str | None
    serial: str | None
    parent_id: str | None
    online: bool
    last_seen: IsoDatetime | None


class SiteOut(_Model):
    id: str
    customer_id: int
    name: str
    address: str
    settlement: str
    voltage: str
    metering_point: str
    devices: list[DeviceOut]
    current_power_w: float | None
    today_kwh: float | None
    online: bool
