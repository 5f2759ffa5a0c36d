"""1.2: when the company may refuse to sign a contract, each reason explained on its own.

The company "has the right to refuse" when the applicant: did not provide the data
or documents asked for; has no contract with the network operator of the sites;
has overdue debts for this or any other service or product of the company; used
(or let others use) equipment already installed in a way the terms do not allow
or the law forbids; has no active electricity supply contract with the company;
or has one that expires within the next 2 calendar months counted from the date
the MyEnergy contract is signed.

All reasons are reported at once. A refusal is a right, not a duty: staff decide
(the Decision only says the right exists and why).

Reading of "expires within the next 2 calendar months from signing"
(docs/contract-rules.md, 1.2): the window runs from the signing day to the
corresponding day two months later, that day included (ЗЗД art. 72(2); 31 December
-> 28/29 February). A supply contract that already ended before the signing day is
not active (the previous reason applies); one without an end date never expires.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from portal_api.contracts.domain.dates import add_months
from portal_api.contracts.domain.decision import Decision, Number, RuleError
from portal_api.contracts.domain.money import ZERO

__all__ = ["Applicant", "Refusal", "SupplyContract", "check_eligibility", "supply_window_end"]

SUPPLY_WINDOW_MONTHS = 2


class Refusal(StrEnum):
    MISSING_DATA = "missing_data"
    NO_OPERATOR_CONTRACT = "no_operator_contract"
    OVERDUE_DEBTS = "overdue_debts"
    EQUIPMENT_MISUSE = "equipment_misuse"
    NO_SUPPLY_CONTRACT = "no_supply_contract"
    SUPPLY_CONTRACT_EXPIRING = "supply_contract_expiring"


@dataclass(frozen=True)
class SupplyContract:
    """The applicant's electricity supply contract with the company."""

    active: bool
    ends_on: dt.date | None = None  # None: for an indefinite term


@dataclass(frozen=True)
class Applicant:
    """What staff know when the applicant asks to sign (1.2)."""

    missing_documents: tuple[str, ...] = ()
    sites_without_operator_contract: tuple[str, ...] = ()
    overdue_debt: Decimal = ZERO  # EUR overdue to the company, any service or product
    equipment_misuse: bool = False
    supply_contract: SupplyContract | None = None


def supply_window_end(signing_on: dt.date) -> dt.date:
    """1.2: the last day of "the next 2 calendar months" from signing (included)."""
    return add_months(signing_on, SUPPLY_WINDOW_MONTHS)


def _refusal(kind: Refusal, bg: str, en: str, **numbers: Number) -> Decision[Refusal]:
    return Decision(
        value=kind,
        clause="1.2",
        reason_bg=bg,
        reason_en=en,
        allowed=False,
        numbers=dict(numbers),
    )


def check_eligibility(
    applicant: Applicant, signing_on: dt.date
) -> Decision[tuple[Decision[Refusal], ...]]:
    """Every reason of 1.2 that lets the company refuse; allowed when there is none."""
    if applicant.overdue_debt < 0:
        raise RuleError("1.2: an overdue debt cannot be negative")
    refusals: list[Decision[Refusal]] = []
    if applicant.missing_documents:
        names = ", ".join(applicant.missing_documents)
        refusals.append(
            _refusal(
                Refusal.MISSING_DATA,
                f"Не са предоставени необходимите данни/документи: {names}.",
                f"Required data or documents were not provided: {names}.",
                missing=names,
            )
        )
    if applicant.sites_without_operator_contract:
        sites = ", ".join(applicant.sites_without_operator_contract)
        refusals.append(
            _refusal(
                Refusal.NO_OPERATOR_CONTRACT,
                f"Няма договор с мрежовия оператор за обект(и): {sites}.",
                f"No contract with the network operator for site(s): {sites}.",
                sites=sites,
            )
        )
    if applicant.overdue_debt > 0:
        refusals.append(
            _refusal(
                Refusal.OVERDUE_DEBTS,
                f"Просрочени задължения към дружеството: {applicant.overdue_debt} EUR.",
                f"Overdue debts to the company: EUR {applicant.overdue_debt}.",
                overdue_debt=applicant.overdue_debt,
            )
        )
    if applicant.equipment_misuse:
        refusals.append(
            _refusal(
                Refusal.EQUIPMENT_MISUSE,
                "Инсталирано оборудване е използвано по нерегламентиран или забранен начин.",
                "Installed equipment was used in a way the terms do not allow or the law forbids.",
            )
        )
    refusals.extend(_supply(applicant.supply_contract, signing_on))
    allowed = not refusals
    return Decision(
        value=tuple(refusals),
        clause="1.2",
        reason_bg=(
            "Няма основание за отказ по т. 1.2."
            if allowed
            else f"Дружеството може да откаже сключване по т. 1.2 ({len(refusals)} основания)."
        ),
        reason_en=(
            "No ground for refusal under 1.2."
            if allowed
            else f"The company may refuse to sign under 1.2 ({len(refusals)} grounds)."
        ),
        allowed=allowed,
        numbers={
            "signing_on": signing_on,
            "refusals": ",".join(r.value for r in refusals),
        },
    )


def _supply(supply: SupplyContract | None, signing_on: dt.date) -> list[Decision[Refusal]]:
    window_end = supply_window_end(signing_on)
    if (
        supply is None
        or not supply.active
        or (supply.ends_on is not None and supply.ends_on < signing_on)
    ):
        return [
            _refusal(
                Refusal.NO_SUPPLY_CONTRACT,
                "Няма активен договор за доставка на електрическа енергия с дружеството.",
                "No active electricity supply contract with the company.",
                supply_ends_on=supply.ends_on if supply else None,
                signing_on=signing_on,
            )
        ]
    if supply.ends_on is not None and supply.ends_on <= window_end:
        return [
            _refusal(
                Refusal.SUPPLY_CONTRACT_EXPIRING,
                f"Договорът за доставка изтича на {supply.ends_on:%d.%m.%Y}, в рамките на "
                f"2 календарни месеца от подписването (до {window_end:%d.%m.%Y} вкл.).",
                f"The supply contract expires on {supply.ends_on.isoformat()}, within 2 calendar "
                f"months of signing (through {window_end.isoformat()}).",
                supply_ends_on=supply.ends_on,
                signing_on=signing_on,
                window_end=window_end,
            )
        ]
    return []
