"""Request and response models of the MyEnergy order API (issue 6).

The order as JSON (``OrderIn``), the quote (``QuoteOut``: every 1.2 ground, the fee
per site and in total at today's price list, the term's cost, the dates 1.3 and
2.2-2.3a give) and the request an order created (``OrderOut``). Money is a
``Decimal`` (JSON: a string such as ``"14.90"``); days are ISO dates. A refusal has
the service requests' shape (schemas_requests.RequestRefusalOut): the message in both
languages and one per field that is wrong.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from portal_api.service_requests.myenergy import (
    MAX_MULTIMETERS,
    Order,
    OrderSite,
    Quote,
    Supply,
)
from portal_api.service_requests.workflow import RequestView
from portal_api.web.schemas_contracts import Reasons, RuleOut, rule_out

__all__ = [
    "FeeLineOut",
    "GroundOut",
    "OrderIn",
    "OrderOut",
    "OrderSiteIn",
    "QuoteOut",
    "order_of",
    "order_out",
    "quote_out",
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class _In(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OrderSiteIn(_In):
    site_id: Annotated[str, Field(min_length=1, max_length=64)]
    multimeters: Annotated[
        int,
        Field(
            ge=1,
            le=MAX_MULTIMETERS,
            description="Multimeters on the site: one is in the unit price, each further one "
            "adds the additional-device price (4.1).",
        ),
    ] = 1
    operator_contract: bool = Field(
        description="The customer declares the site has a contract with the network operator (1.2)."
    )


class OrderIn(_In):
    """An order of MyEnergy: the customer's own free sites and its 1.2 declarations."""

    sites: Annotated[list[OrderSiteIn], Field(min_length=1, max_length=50)]
    period_months: Literal[12, 24] = Field(description="The subscription period (2.2).")
    contact_email: Annotated[str, Field(max_length=254)]
    supply_contract: Supply = Field(
        description="An electricity supply contract in force: for an indefinite term, until "
        "a day (supply_contract_ends_on), or none (1.2)."
    )
    supply_contract_ends_on: dt.date | None = None


class GroundOut(_Model):
    ground: str
    allowed: bool
    reason: Reasons


class FeeLineOut(_Model):
    site_id: str
    name: str
    voltage: str
    multimeters: int
    unit_price: Decimal
    additional_devices: int
    additional_device_price: Decimal
    total: Decimal


class QuoteOut(_Model):
    """What the order would be: what staff will see when it is sent."""

    signing_on: dt.date
    eligibility: RuleOut  # 1.2 as a whole
    grounds: list[GroundOut]  # every ground of 1.2, allowed or not
    price_list: str
    price_list_from: dt.date
    fee_lines: list[FeeLineOut]
    monthly_fee: Decimal  # 4.1, without VAT; fixed when the contract is signed (4.2)
    period_months: int
    term_total: Decimal  # the monthly fee times the period, without VAT
    fee_rule: RuleOut  # 4.1
    installation_by: RuleOut  # 1.3, if signed today
    earliest_start: RuleOut  # 2.3a
    earliest_end: RuleOut  # 2.2


class OrderOut(_Model):
    number: str
    state: str
    step: str
    contract_number: str | None
    submitted_at: dt.datetime
    url: str  # the request's page


def order_of(body: OrderIn) -> Order:
    return Order(
        sites=tuple(OrderSite(s.site_id, s.multimeters, s.operator_contract) for s in body.sites),
        period_months=body.period_months,
        contact_email=body.contact_email,
        supply=body.supply_contract,
        supply_ends_on=body.supply_contract_ends_on,
    )


def quote_out(quote: Quote) -> QuoteOut:
    fee = quote.fee
    return QuoteOut(
        signing_on=quote.signing_on,
        eligibility=rule_out(quote.eligibility),
        grounds=[
            GroundOut(
                ground=g.ground.value,
                allowed=g.allowed,
                reason=Reasons(bg=g.reason_bg, en=g.reason_en),
            )
            for g in quote.grounds
        ],
        price_list=fee.price_list_name,
        price_list_from=fee.price_list_from,
        fee_lines=[
            FeeLineOut(
                site_id=line.site_id,
                name=line.name,
                voltage=line.voltage,
                multimeters=line.multimeters,
                unit_price=line.unit_price,
                additional_devices=line.additional_devices,
                additional_device_price=line.additional_device_price,
                total=line.total,
            )
            for line in fee.lines
        ],
        monthly_fee=fee.total,
        period_months=fee.period_months,
        term_total=quote.term_total,
        fee_rule=rule_out(fee.rule),
        installation_by=rule_out(quote.installation_by),
        earliest_start=rule_out(quote.earliest_start),
        earliest_end=rule_out(quote.earliest_end),
    )


def order_out(view: RequestView) -> OrderOut:
    return OrderOut(
        number=view.number,
        state=view.state.value,
        step=view.step.value,
        contract_number=view.contract_number,
        submitted_at=view.submitted_at,
        url=f"/requests/{view.number}",
    )
