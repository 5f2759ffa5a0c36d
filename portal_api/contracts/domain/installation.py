"""Installation: the deadline (1.3), the outcomes of a visit (1.4.2) and impossibility (1.5).

Readings (docs/contract-rules.md, 1.3 and 1.4.2):

- 1.3 deadline for installation AND access: 30 calendar days from entry into force
  (2.1: the signing day; "дни" without "работни" are calendar days, ЗЗД art. 72(1):
  the first day is not counted) for up to 5 sites; for more sites the term "is
  extended" by 3 working days per site beyond the fifth, counted after the 30th
  day. Time lost to mismatches (1.4.2) extends the term by the calendar days from
  the visit that found the mismatch to the day it was settled (overlapping
  postponements counted once). A last day that is not a working day moves to the
  next working day (ЗЗД art. 72(3)).
- 1.4.2 refused booking / no access / MV-HV site without a technical connection:
  the company MAY terminate (7.4, no penalty): a proposal for staff, never automatic.
- 1.4.2 handover protocol (Appendix 2): three copies, one for the customer and two
  for the company; for a legal entity whose representatives are absent, an
  employee present may sign, with full name and position recorded.
- 1.5 no technical way to connect the multimeter, or no usable mobile link: a
  statement of findings (Appendix 3) with the reason; the contract is deemed
  terminated with no sanctions or penalties for either side.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from portal_api.contracts.domain.contract import CustomerKind, Site, VoltageLevel
from portal_api.contracts.domain.dates import next_working_day_if_off
from portal_api.contracts.domain.decision import Decision, Number, RuleError
from portal_api.contracts.domain.money import ZERO
from portal_api.domain.workdays import WorkingDays

__all__ = [
    "BASE_DAYS",
    "BASE_SITES",
    "COPIES_COMPANY",
    "COPIES_CUSTOMER",
    "DAYS_PER_EXTRA_SITE",
    "AccessProblem",
    "HandoverProtocol",
    "ImpossibleReason",
    "MismatchKind",
    "Postponement",
    "Signatory",
    "SignatoryCapacity",
    "StatementOfFindings",
    "access_problem",
    "handover",
    "installation_deadline",
    "installation_impossible",
    "postponed_days",
]

BASE_DAYS = 30  # 1.3, calendar days
BASE_SITES = 5  # 1.3
DAYS_PER_EXTRA_SITE = 3  # 1.3, working days
COPIES_CUSTOMER = 1  # 1.4.2, Appendix 2
COPIES_COMPANY = 2


class MismatchKind(StrEnum):
    """1.4.2: what the technician found different from the contract."""

    SITE_COUNT = "site_count"
    VOLTAGE_LEVEL = "voltage_level"
    OTHER = "other"


@dataclass(frozen=True)
class Postponement:
    """1.4.2: installation postponed on ``found_on`` until ``settled_on`` (None: still open)."""

    found_on: dt.date
    kind: MismatchKind
    settled_on: dt.date | None = None
    detail: str = ""

    def __post_init__(self) -> None:
        if self.settled_on is not None and self.settled_on < self.found_on:
            raise RuleError("1.4.2: a mismatch cannot be settled before it was found")


def postponed_days(postponements: Sequence[Postponement]) -> int:
    """Calendar days in the union of the settled postponements' (found_on, settled_on]."""
    spans = sorted(
        (p.found_on, settled) for p in postponements if (settled := p.settled_on) is not None
    )
    total = 0
    cursor: dt.date | None = None
    for start, end in spans:
        lo = start if cursor is None or cursor < start else cursor
        if end > lo:
            total += (end - lo).days
        cursor = end if cursor is None or end > cursor else cursor
    return total


def installation_deadline(
    in_force_on: dt.date,
    sites: int,
    calendar: WorkingDays,
    postponements: Sequence[Postponement] = (),
) -> Decision[dt.date | None]:
    """1.3 (with 1.4.2): the last day to install the equipment and give access."""
    if sites < 1:
        raise RuleError(f"1.3: a contract has at least one site, got {sites}")
    base = in_force_on + dt.timedelta(days=BASE_DAYS)
    extra_sites = max(0, sites - BASE_SITES)
    extra_working = extra_sites * DAYS_PER_EXTRA_SITE
    extended = calendar.add_working_days(base, extra_working)
    open_since = [p.found_on for p in postponements if p.settled_on is None]
    lost = postponed_days(postponements)
    numbers: dict[str, Number] = {
        "in_force_on": in_force_on,
        "sites": sites,
        "base_days": BASE_DAYS,
        "day_30": base,
        "extra_sites": extra_sites,
        "extra_working_days": extra_working,
        "postponed_days": lost,
    }
    if open_since:
        since = min(open_since)
        numbers["postponed_since"] = since
        return Decision(
            value=None,
            clause="1.4.2",
            reason_bg=(
                f"Инсталацията е отложена от {since:%d.%m.%Y} поради несъответствие; срокът "
                "по т. 1.3 се удължава, докато то бъде отстранено."
            ),
            reason_en=(
                f"Installation postponed since {since.isoformat()} for a mismatch; the 1.3 "
                "deadline is extended until it is settled."
            ),
            numbers=numbers,
        )
    plain = extended + dt.timedelta(days=lost)
    deadline = next_working_day_if_off(plain, calendar)
    numbers.update(moved_to_working_day=deadline != plain, deadline=deadline)
    parts_bg = [f"30 календарни дни от {in_force_on:%d.%m.%Y}"]
    parts_en = [f"30 calendar days from {in_force_on.isoformat()}"]
    if extra_sites:
        parts_bg.append(f"{extra_working} работни дни за {extra_sites} обекта над 5")
        parts_en.append(f"{extra_working} working days for {extra_sites} sites beyond 5")
    if lost:
        parts_bg.append(f"{lost} дни за отстраняване на несъответствия (т. 1.4.2)")
        parts_en.append(f"{lost} days to settle mismatches (1.4.2)")
    if deadline != plain:
        parts_bg.append("преместен на първия работен ден (чл. 72, ал. 3 ЗЗД)")
        parts_en.append("moved to the next working day (ZZD art. 72(3))")
    return Decision(
        value=deadline,
        clause="1.3",
        reason_bg=f"Срок за инсталиране и достъп: {deadline:%d.%m.%Y} ({'; '.join(parts_bg)}).",
        reason_en=f"Installation and access due by {deadline.isoformat()} ({'; '.join(parts_en)}).",
        numbers=numbers,
    )


class AccessProblem(StrEnum):
    """1.4.2, second paragraph: grounds on which the company may terminate."""

    REFUSED_APPOINTMENT = "refused_appointment"
    NO_ACCESS = "no_access"
    MV_HV_NO_CONNECTION = "mv_hv_no_connection"


_ACCESS_TEXT = {
    AccessProblem.REFUSED_APPOINTMENT: (
        "потребителят отказва да уговори време за посещение",
        "the customer refuses to book a visit",
    ),
    AccessProblem.NO_ACCESS: (
        "потребителят не е осигурил достъп в уговореното време",
        "the customer gave no access at the agreed time",
    ),
    AccessProblem.MV_HV_NO_CONNECTION: (
        "за обект на СН/ВН не е осигурена техническа възможност за свързване",
        "an MV/HV site has no technical connection provided",
    ),
}


def access_problem(problem: AccessProblem, site: Site, on: dt.date) -> Decision[str]:
    """1.4.2 / 7.4: a proposal that staff MAY terminate the contract without a penalty."""
    bg, en = _ACCESS_TEXT[problem]
    numbers: dict[str, Number] = {
        "problem": problem.value,
        "site": site.site_id,
        "voltage": site.voltage.value,
        "on": on,
    }
    if problem is AccessProblem.MV_HV_NO_CONNECTION and site.voltage is VoltageLevel.LV:
        return Decision(
            value="none",
            clause="1.4.2",
            reason_bg="Обектът е на ниско напрежение: свързването се осигурява от дружеството.",
            reason_en="The site is low voltage: the company provides the connection itself.",
            allowed=False,
            numbers=numbers,
        )
    return Decision(
        value="propose_termination",
        clause="1.4.2",
        reason_bg=(
            f"Дружеството има право да прекрати едностранно договора ({bg}), без неустойка "
            "(т. 7.4). Решението е на служител."
        ),
        reason_en=(
            f"The company may terminate the contract unilaterally ({en}) without a penalty "
            "(7.4). Staff decide."
        ),
        numbers=numbers,
    )


class SignatoryCapacity(StrEnum):
    CUSTOMER = "customer"  # the customer in person / its legal representative
    PROXY = "proxy"  # an authorised representative
    EMPLOYEE = "employee"  # 1.4.2: an employee present at the site (legal entity)


@dataclass(frozen=True)
class Signatory:
    full_name: str
    capacity: SignatoryCapacity
    position: str = ""


@dataclass(frozen=True)
class HandoverProtocol:
    """Appendix 2: the handover protocol signed before the technician leaves."""

    contract_number: str
    site_ids: tuple[str, ...]
    signed_on: dt.date
    technician: str
    signatory: Signatory
    copies_customer: int = COPIES_CUSTOMER
    copies_company: int = COPIES_COMPANY


def handover(protocol: HandoverProtocol, customer_kind: CustomerKind) -> Decision[HandoverProtocol]:
    """1.4.2: is the handover protocol (Appendix 2) duly made? All defects at once."""
    defects_bg: list[str] = []
    defects_en: list[str] = []
    if (protocol.copies_customer, protocol.copies_company) != (COPIES_CUSTOMER, COPIES_COMPANY):
        defects_bg.append(
            "протоколът се съставя в три екземпляра: един за потребителя, два за дружеството"
        )
        defects_en.append("three copies are made: one for the customer, two for the company")
    if not protocol.site_ids:
        defects_bg.append("не са посочени обекти")
        defects_en.append("no sites named")
    if not protocol.technician.strip():
        defects_bg.append("липсва техническото лице")
        defects_en.append("the technician is missing")
    who = protocol.signatory
    if not who.full_name.strip():
        defects_bg.append("липсва името на подписалия за потребителя")
        defects_en.append("the customer's signatory has no name")
    if who.capacity is SignatoryCapacity.EMPLOYEE:
        if customer_kind is not CustomerKind.LEGAL_ENTITY:
            defects_bg.append("служител може да подпише само за юридическо лице")
            defects_en.append("an employee may sign only for a legal entity")
        if len(who.full_name.split()) < 3 or not who.position.strip():
            defects_bg.append("за служител се вписват трите имена и длъжността")
            defects_en.append(
                "for an employee the full (three) names and the position are required"
            )
    numbers: dict[str, Number] = {
        "signed_on": protocol.signed_on,
        "sites": len(protocol.site_ids),
        "copies_customer": protocol.copies_customer,
        "copies_company": protocol.copies_company,
        "signatory_capacity": who.capacity.value,
    }
    if defects_bg:
        return Decision(
            value=protocol,
            clause="1.4.2",
            reason_bg="Приемо-предавателният протокол не е надлежен: "
            + "; ".join(defects_bg)
            + ".",
            reason_en="The handover protocol is not valid: " + "; ".join(defects_en) + ".",
            allowed=False,
            numbers=numbers,
        )
    return Decision(
        value=protocol,
        clause="1.4.2",
        reason_bg="Приемо-предавателният протокол (Приложение № 2) е надлежно подписан.",
        reason_en="The handover protocol (Appendix 2) is duly signed.",
        numbers=numbers,
    )


class ImpossibleReason(StrEnum):
    """1.5: why the equipment cannot (or should not) be installed."""

    NO_TECHNICAL_WAY = "no_technical_way"
    NO_MOBILE_COVERAGE = "no_mobile_coverage"


_IMPOSSIBLE_TEXT = {
    ImpossibleReason.NO_TECHNICAL_WAY: (
        "липсва техническа възможност за свързване на мултимера",
        "no technical way to connect the multimeter",
    ),
    ImpossibleReason.NO_MOBILE_COVERAGE: (
        "невъзможен трансфер на данни през мобилната мрежа",
        "no data transfer over the mobile network",
    ),
}


@dataclass(frozen=True)
class StatementOfFindings:
    """Appendix 3: the statement of findings that installation is impossible."""

    contract_number: str
    site_id: str
    found_on: dt.date
    reason: ImpossibleReason
    detail: str = ""


def installation_impossible(statement: StatementOfFindings) -> Decision[StatementOfFindings]:
    """1.5 / 7.1c: the contract is deemed terminated, no sanctions or penalties for anyone."""
    bg, en = _IMPOSSIBLE_TEXT[statement.reason]
    return Decision(
        value=statement,
        clause="1.5",
        reason_bg=(
            f"Констативен протокол (Приложение № 3): {bg}. Договорът се счита за прекратен "
            "без санкции и неустойки за страните."
        ),
        reason_en=(
            f"Statement of findings (Appendix 3): {en}. The contract is deemed terminated "
            "with no sanctions or penalties for either side."
        ),
        numbers={
            "reason": statement.reason.value,
            "site": statement.site_id,
            "ended_on": statement.found_on,
            "penalty_customer": ZERO,
            "penalty_company": ZERO,
        },
    )
