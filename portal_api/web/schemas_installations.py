"""Request and response models of the installations API (issue 7): provisioning codes,
provisioning a module, and whether its first upload arrived."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from portal_api.installations.provisioning import (
    FirstUpload,
    IssuedCode,
    MeterSpec,
    Provisioned,
    ProvisioningError,
    ProvisionRequest,
)
from portal_api.web.schemas_contracts import Reasons

__all__ = [
    "CodeIn",
    "CodeOut",
    "FirstUploadOut",
    "MeterIn",
    "MqttOut",
    "ProvisionIn",
    "ProvisionOut",
    "ProvisioningRefusalOut",
    "code_out",
    "first_upload_out",
    "provision_out",
    "refusal_body",
]

DeviceId = Annotated[str, Field(min_length=3, max_length=32, pattern=r"^[a-z0-9-]+$")]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class _In(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProvisioningRefusalOut(_Model):
    """A refusal: ``detail`` in English, ``code`` stable for scripts, both languages."""

    detail: str
    code: str
    reason: Reasons


def refusal_body(error: ProvisioningError) -> dict[str, object]:
    return ProvisioningRefusalOut(
        detail=error.message_en,
        code=error.code,
        reason=Reasons(bg=error.message_bg, en=error.message_en),
    ).model_dump(mode="json")


# -- codes -------------------------------------------------------------------------------


class CodeIn(_In):
    """Optionally narrow the code to one site of the contract."""

    site_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class CodeOut(_Model):
    """The code, shown this once (only its keyed hash is kept), and until when it works."""

    code: str
    contract_number: str
    site_id: str | None
    expires_at: dt.datetime


def code_out(issued: IssuedCode) -> CodeOut:
    return CodeOut(
        code=issued.code,
        contract_number=issued.contract_number,
        site_id=issued.site_id,
        expires_at=issued.expires_at,
    )


# -- provisioning --------------------------------------------------------------------------


class MeterIn(_In):
    model: Annotated[str, Field(min_length=1, max_length=32)]  # a hardware map name
    serial: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    slave: Annotated[int, Field(ge=1, le=247)]
    baud: Literal[1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200]
    parity: Literal["N", "E", "O"]
    stopbits: Literal[1, 2] = 1


class ProvisionIn(_In):
    """The module of one of the contract's sites and the meter it reads. Without a
    bearer token, ``provisioning_code`` authenticates the call."""

    contract_number: Annotated[str, Field(min_length=1, max_length=32)]
    site_id: Annotated[str, Field(min_length=1, max_length=64)]
    meter: MeterIn
    module_id: DeviceId | None = None
    provisioning_code: Annotated[str, Field(min_length=1, max_length=64)] | None = None

    def request(self) -> ProvisionRequest:
        m = self.meter
        return ProvisionRequest(
            contract_number=self.contract_number,
            site_id=self.site_id,
            meter=MeterSpec(m.model, m.serial, m.slave, m.baud, m.parity, m.stopbits),
            module_id=self.module_id,
        )


class MqttOut(_Model):
    """The module's broker login; ``password`` appears in this answer only."""

    host: str
    port: int
    tls: bool
    protocol: str
    username: str
    password: str
    client_id: str
    topic_prefix: str


class MeterOut(_Model):
    model: str
    serial: str | None
    slave_id: int
    baudrate: int
    parity: str
    stopbits: int


class ProvisionOut(_Model):
    device_id: str  # the agent's [device] id: records and status go under it
    module_id: str
    site_id: str
    contract_number: str
    created: bool  # false: the same module was provisioned again (new password)
    provisioned_at: dt.datetime  # first-upload's ``since``
    mqtt: MqttOut
    meter: MeterOut


def provision_out(done: Provisioned) -> ProvisionOut:
    meter = done.meter
    return ProvisionOut(
        device_id=done.device_id,
        module_id=done.module_id,
        site_id=done.site_id,
        contract_number=done.contract_number,
        created=done.created,
        provisioned_at=done.provisioned_at,
        mqtt=MqttOut(
            host=done.broker.host,
            port=done.broker.port,
            tls=done.broker.tls,
            protocol=done.broker.protocol,
            username=done.device_id,
            password=done.password,
            client_id=done.device_id,
            topic_prefix=done.topic_prefix,
        ),
        meter=MeterOut(
            model=meter.model,
            serial=meter.serial,
            slave_id=meter.slave,
            baudrate=meter.baud,
            parity=meter.parity,
            stopbits=meter.stopbits,
        ),
    )


class FirstUploadOut(_Model):
    device_id: str
    uploaded: bool  # a status message or a record of the device reached the store
    last_seen: dt.datetime | None
    status_at: dt.datetime | None
    records: int
    online: bool


def first_upload_out(state: FirstUpload) -> FirstUploadOut:
    return FirstUploadOut(
        device_id=state.device_id,
        uploaded=state.uploaded,
        last_seen=state.last_seen,
        status_at=state.status_at,
        records=state.records,
        online=state.online,
    )
