"""The customer's rights to end the contract without penalty (General Terms 7.5а, 7.5в).

- 7.5а amended General Terms: a written request within one month of their entry
  into force (not for statutory or favourable changes).
- 7.5б interruptions under 5.1 / 5.2: ``interruption_remedies.termination_right``.
- 7.5в a natural person within 14 days of an off-premises contract (Consumer
  Protection Act art. 50), paying the costs incurred if the service had started.

Both periods end, when their last day is not a working day, on the next working
day (ЗЗД art. 72(3), ``dates.next_working_day_if_off``; docs/contract-rules.md "7.5").
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from portal_api.contracts.domain.dates import add_months, next_working_day_if_off
from portal_api.contracts.domain.decision import Decision, Number
from portal_api.contracts.domain.money import ZERO, cents, non_negative
from portal_api.contracts.domain.termination import Outcome, refused
from portal_api.domain.workdays import WorkingDays

__all__ = ["WITHDRAWAL_DAYS", "amended_terms_termination", "off_premises_withdrawal"]

WITHDRAWAL_DAYS = 14  # 7.5в, Consumer Protection Act art. 50


def amended_terms_termination(
    in_force_on: dt.date,
    requested_on: dt.date,
    calendar: WorkingDays,
    *,
    statutory_or_authority: bool = False,
    favourable_or_not_affecting: bool = False,
) -> Decision[Outcome]:
    """7.5а and the preamble: a customer who disagrees with amended General Terms may end
    the contract without penalty by a written request within one month of their
    entry into force; not for changes required by law or an authority, or more
    favourable or not affecting the use of the Service.

    The month ends on the same day of the next month (ЗЗД art. 72(2); 31 January
    -> 28/29 February), moved to the next working day if that is a day off (art. 72(3)).
    """
    last = next_working_day_if_off(add_months(in_force_on, 1), calendar)
    numbers: dict[str, Number] = {
        "in_force_on": in_force_on,
        "requested_on": requested_on,
        "deadline": last,
        "statutory_or_authority": statutory_or_authority,
        "favourable_or_not_affecting": favourable_or_not_affecting,
    }
    if statutory_or_authority or favourable_or_not_affecting:
        return refused(
            "7.5a",
            "Промените произтичат от закона или акт на орган, или са по-благоприятни/"
            "не засягат ползването: няма право на прекратяване без неустойка.",
            "The changes come from the law or an authority, or are favourable / do "
            "not affect the use: no right to end without penalty.",
            numbers,
        )
    if requested_on < in_force_on or requested_on > last:
        return refused(
            "7.5a",
            f"Искането от {requested_on.isoformat()} е извън срока от "
            f"{in_force_on.isoformat()} до {last.isoformat()}.",
            f"The request of {requested_on.isoformat()} is outside the period from "
            f"{in_force_on.isoformat()} to {last.isoformat()}.",
            numbers,
        )
    return Decision(
        value=Outcome(ends_on=requested_on),
        clause="7.5a",
        reason_bg=f"Несъгласие с изменените Общи условия, заявено в срок (до {last.isoformat()}): "
        "прекратяване без неустойки и санкции.",
        reason_en=f"Disagreement with the amended General Terms, stated in time (by "
        f"{last.isoformat()}): the contract ends without penalty.",
        numbers=numbers,
    )


def off_premises_withdrawal(
    signed_on: dt.date,
    notice_sent_on: dt.date,
    calendar: WorkingDays,
    *,
    natural_person: bool,
    off_premises: bool,
    service_started: bool,
    costs_incurred: Decimal = ZERO,
) -> Decision[Outcome]:
    """7.5в, Consumer Protection Act art. 50: a natural person who signed outside the
    company's service centres may withdraw within 14 days of signing (the day of
    signing not counted; a last day off moves to the next working day, ЗЗД
    art. 72(3)), by written notice sent by post or e-mail; the notice counts when
    sent. If the service had started, the costs incurred until then are owed.
    """
    costs = non_negative("the costs incurred", costs_incurred)
    last = next_working_day_if_off(signed_on + dt.timedelta(days=WITHDRAWAL_DAYS), calendar)
    numbers: dict[str, Number] = {
        "signed_on": signed_on,
        "notice_sent_on": notice_sent_on,
        "deadline": last,
        "natural_person": natural_person,
        "off_premises": off_premises,
        "service_started": service_started,
    }
    if not (natural_person and off_premises):
        return refused(
            "7.5c",
            "Правото на отказ по т. 7.5в е само за физическо лице с договор, сключен "
            "извън центровете за обслужване.",
            "The withdrawal right of 7.5c is only for a natural person whose contract "
            "was signed outside the service centres.",
            numbers,
        )
    if notice_sent_on < signed_on or notice_sent_on > last:
        return refused(
            "7.5c",
            f"Уведомлението от {notice_sent_on.isoformat()} е след 14-дневния срок "
            f"(до {last.isoformat()}).",
            f"The notice of {notice_sent_on.isoformat()} is after the 14-day period "
            f"(until {last.isoformat()}).",
            numbers,
        )
    owed = cents(costs) if service_started else ZERO
    numbers["costs_owed"] = owed
    outcome = Outcome(ends_on=notice_sent_on, charges=(("costs_incurred", owed),) if owed else ())
    return Decision(
        value=outcome,
        clause="7.5c",
        reason_bg=f"Отказ в 14-дневния срок (до {last.isoformat()}) по чл. 50 ЗЗП: без неустойка"
        + (f"; дължат се възникналите разходи {owed} EUR." if service_started else "."),
        reason_en=f"Withdrawal within the 14 days (until {last.isoformat()}) under Consumer "
        "Protection Act art. 50: no penalty"
        + (f"; the costs incurred {owed} EUR are owed." if service_started else "."),
        numbers=numbers,
    )
