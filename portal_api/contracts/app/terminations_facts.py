"""The grounds on which staff end a contract (or charge for its end) and the facts each needs.

One ground per case of the General Terms the staff surface covers:

=================  ============  ==========================================================
ground             clauses       ``on`` is ...
=================  ============  ==========================================================
expiry             7.1a          (ignored) the subscription's last day is the end
mutual_consent     7.1b          the agreed last day
force_majeure      7.1d          the first day of force majeure (``ended_on``: its end)
state_act          7.1e          the act's entry into force
death_or_incapac.  7.1f          the death / the interdiction decision's entry into force
liquidation        7.1g          the decision's entry into force
ownership_change   7.1з, 8.1c    the day the site(s) changed owner or user (``sites``)
customer_early     7.2, 8.1b     the day the customer's written notice was received
company_early      7.3, 8.2      the day the customer received the company's notice
withdrawal         7.5c          the day the consumer sent the withdrawal (ЗЗП art. 50)
equipment_damage   5.3, 7.4,     the day the damage was found (``amount``: the equipment
                   8.1a          value, ``replacement_costs``; ``terminate``: end too)
dismantling        7.7, 8.1d     the day the written request for access was sent
                                 (``access_given_on``, ``amount``: the equipment value)
=================  ============  ==========================================================

Non-payment (4.4, 7.4 with 8.1b) is not here: it is the daily run's proposal,
confirmed in the decisions queue. The facts travel as a customer's notice in the
decision log too (:func:`facts_numbers` / :func:`facts_from_numbers`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from portal_api.contracts.app.contracts_common import ContractAppError
from portal_api.contracts.domain.contract import TerminationGround
from portal_api.contracts.domain.decision import Number
from portal_api.contracts.domain.money import ZERO

__all__ = ["CUSTOMER_GROUNDS", "ENDED_BY", "Facts", "Ground", "facts_from_numbers", "facts_numbers"]


class Ground(StrEnum):
    EXPIRY = "expiry"
    MUTUAL_CONSENT = "mutual_consent"
    FORCE_MAJEURE = "force_majeure"
    STATE_ACT = "state_act"
    DEATH_OR_INCAPACITY = "death_or_incapacity"
    LIQUIDATION = "liquidation"
    OWNERSHIP_CHANGE = "ownership_change"
    CUSTOMER_EARLY = "customer_early"
    COMPANY_EARLY = "company_early"
    WITHDRAWAL = "withdrawal"
    EQUIPMENT_DAMAGE = "equipment_damage"
    DISMANTLING = "dismantling"


# 7.1 а-ж: grounds that end the contract by themselves, without a penalty (termination.ended_by).
ENDED_BY: dict[Ground, TerminationGround] = {
    Ground.EXPIRY: TerminationGround.TERM_EXPIRED,
    Ground.MUTUAL_CONSENT: TerminationGround.MUTUAL_CONSENT,
    Ground.FORCE_MAJEURE: TerminationGround.FORCE_MAJEURE,
    Ground.STATE_ACT: TerminationGround.STATE_ACT,
    Ground.DEATH_OR_INCAPACITY: TerminationGround.DEATH_OR_INCAPACITY,
    Ground.LIQUIDATION: TerminationGround.LIQUIDATION_OR_INSOLVENCY,
}

# What a customer may give notice of in the portal: 7.2 (14 days' notice) and 7.5c.
CUSTOMER_GROUNDS = (Ground.CUSTOMER_EARLY, Ground.WITHDRAWAL)


@dataclass(frozen=True)
class Facts:
    """What staff (or the customer's notice) state about the end; see the module's table."""

    ground: Ground
    on: dt.date
    requested_end: dt.date | None = None  # 7.2: a later end the customer asked for
    sites: tuple[str, ...] = ()  # 7.1з: the sites that changed; empty = all
    ownership: bool = True  # 7.1з: owner changed (8.1c) or only the right of use
    amount: Decimal | None = None  # 7.5c costs incurred; 8.1a / 8.1d equipment value
    replacement_costs: Decimal = ZERO  # 8.1a
    access_given_on: dt.date | None = None  # 8.1d / 7.7
    ended_on: dt.date | None = None  # 7.1d: the day force majeure ended
    terminate: bool = True  # 5.3: end the contract (7.4) or only charge the repair (8.1a)


def facts_numbers(facts: Facts) -> dict[str, Number]:
    """The facts as a decision's numbers (stored with a customer's notice)."""
    return {
        "facts_ground": facts.ground.value,
        "facts_on": facts.on,
        "facts_requested_end": facts.requested_end,
        "facts_sites": ",".join(facts.sites),
        "facts_ownership": facts.ownership,
        "facts_amount": facts.amount,
        "facts_replacement_costs": facts.replacement_costs,
        "facts_access_given_on": facts.access_given_on,
        "facts_ended_on": facts.ended_on,
        "facts_terminate": facts.terminate,
    }


def _date(value: object) -> dt.date | None:
    return None if value in (None, "") else dt.date.fromisoformat(str(value))


def _decimal(value: object) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def facts_from_numbers(numbers: Mapping[str, object]) -> Facts:
    """The facts stored by :func:`facts_numbers` (JSON: dates and amounts as strings)."""
    try:
        on = _date(numbers["facts_on"])
        assert on is not None
        return Facts(
            ground=Ground(str(numbers["facts_ground"])),
            on=on,
            requested_end=_date(numbers.get("facts_requested_end")),
            sites=tuple(s for s in str(numbers.get("facts_sites") or "").split(",") if s),
            ownership=bool(numbers.get("facts_ownership", True)),
            amount=_decimal(numbers.get("facts_amount")),
            replacement_costs=_decimal(numbers.get("facts_replacement_costs")) or ZERO,
            access_given_on=_date(numbers.get("facts_access_given_on")),
            ended_on=_date(numbers.get("facts_ended_on")),
            terminate=bool(numbers.get("facts_terminate", True)),
        )
    except (KeyError, ValueError, AssertionError, InvalidOperation) as error:
        raise ContractAppError(
            409,
            "Предложението не съдържа данните за прекратяването.",
            "The proposal does not carry the facts of the termination.",
        ) from error
