"""Invoices and payments (General Terms 2.3, 3.1a, 4.3; ЗЗД art. 76 for allocation).

3.1a / 4.3: the monthly fee is paid by the 10th of each month of the
subscription, for that month. One invoice per monthly fee, e-mailed; not
receiving it does not excuse payment. When the 10th is not a working day the
payment term ends on the next working day (docs/contract-rules.md, "4.3").

2.3 / 4.3 first month: the subscription starts with the month after the month
in which the customer received the credentials (first contract, 2.3a), or after
the month in which the previous contract expired (renewal, 2.3b); the rule is
``term.subscription_start`` / ``term.renewal_start``. The days of the
month in which the credentials were given are free; the first fee is due for the
next month. Months added to the term as compensation (5.1, 5.2: "one free
additional month") come after the paid months and carry no invoice.

Payments (ЗЗД art. 76): a payment goes first to the invoice the customer named,
then to the oldest open invoices (all fees are equally onerous, so the oldest
first); within each invoice first to costs, then interest, then the fee itself.
What is left over is kept as credit and settles the next invoices.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal

from portal_api.contracts.domain.contract import SUBSCRIPTION_PERIODS
from portal_api.contracts.domain.dates import add_months, next_working_day_if_off
from portal_api.contracts.domain.decision import Decision, RuleError
from portal_api.contracts.domain.interest import RateTable, statutory_interest
from portal_api.contracts.domain.money import ZERO, cents
from portal_api.contracts.domain.term import renewal_start, subscription_end, subscription_start
from portal_api.domain.workdays import WorkingDays

__all__ = [
    "DUE_DAY",
    "AppliedPart",
    "ContractTerms",
    "Invoice",
    "Ledger",
    "OpenItem",
    "Payment",
    "PaymentResult",
    "due_date",
    "invoice_schedule",
]

DUE_DAY = 10
_ONE_DAY = dt.timedelta(days=1)


def _nominal_due(month: dt.date) -> dt.date:
    """3.1a / 4.3: the 10th of the month, before any move to a working day."""
    return month.replace(day=DUE_DAY)


def _month_key(first: dt.date) -> str:
    return f"{first.year:04d}-{first.month:02d}"


@dataclass(frozen=True)
class ContractTerms:
    """What billing needs of a contract: its fixed fee (4.2), period and start event.

    Exactly one of ``credentials_given`` (first contract: the day the customer
    received username and password, 2.3a) and ``previous_contract_end`` (renewal:
    the last day of the previous contract, 2.3b) is set.
    """

    contract_id: str
    monthly_fee: Decimal
    period_months: int
    credentials_given: dt.date | None = None
    previous_contract_end: dt.date | None = None
    free_months: int = 0

    def __post_init__(self) -> None:
        if self.period_months not in SUBSCRIPTION_PERIODS:
            raise RuleError(f"the subscription is 12 or 24 months (2.2), not {self.period_months}")
        if (self.credentials_given is None) == (self.previous_contract_end is None):
            raise RuleError(
                "the subscription starts after the credentials (2.3a) or after the previous "
                "contract (2.3b): give exactly one of the two dates"
            )
        if not isinstance(self.monthly_fee, Decimal) or self.monthly_fee < 0:
            raise RuleError(f"the monthly fee is a non-negative Decimal, got {self.monthly_fee!r}")
        if self.free_months < 0:
            raise RuleError("free months cannot be negative")


def _subscription_start(terms: ContractTerms) -> dt.date:
    """2.3 (:mod:`term`): the first month of the subscription, the first one invoiced (4.3)."""
    if terms.credentials_given is not None:
        return subscription_start(terms.credentials_given).value
    assert terms.previous_contract_end is not None
    return renewal_start(terms.previous_contract_end).value


def due_date(month: dt.date, calendar: WorkingDays) -> Decision[dt.date]:
    """3.1a / 4.3: the fee of ``month`` is due by its 10th, or the next working day after it."""
    nominal = _nominal_due(month)
    due = next_working_day_if_off(nominal, calendar)
    moved = due != nominal
    return Decision(
        value=due,
        clause="4.3",
        reason_bg=(
            f"Таксата за {_month_key(month)} се плаща до 10-о число"
            + (
                f"; {nominal.isoformat()} е неприсъствен ден, срокът изтича в първия присъствен "
                f"ден {due.isoformat()}."
                if moved
                else f": {due.isoformat()}."
            )
        ),
        reason_en=(
            f"The fee for {_month_key(month)} is due by the 10th"
            + (
                f"; {nominal.isoformat()} is not a working day, so the term ends on the next "
                f"working day, {due.isoformat()}."
                if moved
                else f": {due.isoformat()}."
            )
        ),
        numbers={"month": month, "nominal_due": nominal, "due": due, "moved": moved},
    )


@dataclass(frozen=True)
class Invoice:
    """One monthly fee (4.3): for ``month`` (its first day), due by ``due``."""

    invoice_id: str
    contract_id: str
    month: dt.date
    amount: Decimal
    nominal_due: dt.date
    due: dt.date


def invoice_schedule(
    terms: ContractTerms, until: dt.date, calendar: WorkingDays
) -> Decision[tuple[Invoice, ...]]:
    """The invoices of the subscription for every month that began on or before ``until``.

    One per paid month of the term (12 or 24), at the fee fixed for the term (4.2);
    months spent suspended are invoiced too (4.4); free compensation months, added
    after the paid ones, are not.
    """
    start = _subscription_start(terms)
    invoices: list[Invoice] = []
    for i in range(terms.period_months):
        month = add_months(start, i)
        if month > until:
            break
        due = due_date(month, calendar).value
        invoices.append(
            Invoice(
                invoice_id=f"{terms.contract_id}-{_month_key(month)}",
                contract_id=terms.contract_id,
                month=month,
                amount=cents(terms.monthly_fee),
                nominal_due=_nominal_due(month),
                due=due,
            )
        )
    last_paid = add_months(start, terms.period_months - 1)
    end = subscription_end(start, terms.period_months, terms.free_months).value
    total = cents(sum((inv.amount for inv in invoices), ZERO))
    return Decision(
        value=tuple(invoices),
        clause="4.3",
        reason_bg=(
            f"Абонамент от {_month_key(start)} за {terms.period_months} месеца"
            f" (+{terms.free_months} безплатни) до {end.isoformat()}: "
            f"{len(invoices)} фактури до {until.isoformat()}, общо {total} EUR."
        ),
        reason_en=(
            f"Subscription from {_month_key(start)} for {terms.period_months} months"
            f" (+{terms.free_months} free) to {end.isoformat()}: "
            f"{len(invoices)} invoice(s) up to {until.isoformat()}, {total} EUR in all."
        ),
        numbers={
            "start": start,
            "last_paid_month": last_paid,
            "end": end,
            "free_months": terms.free_months,
            "invoices": len(invoices),
            "total": total,
            "until": until,
        },
    )


@dataclass(frozen=True)
class OpenItem:
    """What is still owed on one invoice: costs, interest charged, and the fee itself."""

    invoice_id: str
    due: dt.date
    principal: Decimal
    interest: Decimal = ZERO
    costs: Decimal = ZERO
    interest_to: dt.date | None = None  # interest accrued through this day (None: due)

    @property
    def balance(self) -> Decimal:
        return self.costs + self.interest + self.principal


@dataclass(frozen=True)
class Payment:
    """Money received on ``paid_on``; ``invoice_id`` when the customer named the invoice."""

    payment_id: str
    paid_on: dt.date
    amount: Decimal
    invoice_id: str | None = None


@dataclass(frozen=True)
class AppliedPart:
    invoice_id: str
    costs: Decimal
    interest: Decimal
    principal: Decimal


@dataclass(frozen=True)
class PaymentResult:
    ledger: Ledger
    applied: tuple[AppliedPart, ...]
    settled: tuple[str, ...]  # invoices fully paid by this payment
    credit_added: Decimal


def _settle(item: OpenItem, money: Decimal) -> tuple[OpenItem, AppliedPart, Decimal]:
    """ЗЗД art. 76(2): costs, then interest, then principal."""
    to_costs = min(money, item.costs)
    money -= to_costs
    to_interest = min(money, item.interest)
    money -= to_interest
    to_principal = min(money, item.principal)
    money -= to_principal
    left = replace(
        item,
        costs=item.costs - to_costs,
        interest=item.interest - to_interest,
        principal=item.principal - to_principal,
    )
    return left, AppliedPart(item.invoice_id, to_costs, to_interest, to_principal), money


@dataclass(frozen=True)
class Ledger:
    """A contract's open invoices and its credit (overpayments kept for the next invoices)."""

    items: tuple[OpenItem, ...] = ()
    credit: Decimal = ZERO

    def add_invoice(self, invoice: Invoice) -> Decision[Ledger]:
        """Book an issued invoice; credit from earlier overpayments settles it first."""
        if any(i.invoice_id == invoice.invoice_id for i in self.items):
            raise RuleError(f"invoice {invoice.invoice_id} is already booked")
        item = OpenItem(invoice.invoice_id, invoice.due, cents(invoice.amount))
        used = min(self.credit, item.principal)
        item = replace(item, principal=item.principal - used)
        items = (*self.items, item) if item.balance > 0 else self.items
        ledger = Ledger(items=items, credit=self.credit - used)
        return Decision(
            value=ledger,
            clause="4.3",
            reason_bg=(
                f"Фактура {invoice.invoice_id} за {invoice.amount} EUR с падеж "
                f"{invoice.due.isoformat()}; приспаднат кредит {used} EUR, остава "
                f"{item.principal} EUR."
            ),
            reason_en=(
                f"Invoice {invoice.invoice_id} of {invoice.amount} EUR due "
                f"{invoice.due.isoformat()}; credit used {used} EUR, {item.principal} EUR open."
            ),
            numbers={
                "invoice": invoice.invoice_id,
                "amount": invoice.amount,
                "credit_used": used,
                "open": item.principal,
                "credit_left": ledger.credit,
            },
        )

    def accrue(self, on: dt.date, rates: RateTable) -> Ledger:
        """Charge statutory interest (4.4) on each overdue fee through ``on``.

        Interest runs on the unpaid fee only (no interest on interest, ЗЗД art. 10(3)),
        from the day after the due date (or after the last accrual) through ``on``.
        """
        items: list[OpenItem] = []
        for item in self.items:
            since = item.interest_to or item.due
            if item.principal > 0 and on > since:
                extra = statutory_interest(item.principal, since + _ONE_DAY, on, rates).value
                items.append(replace(item, interest=item.interest + extra, interest_to=on))
            else:
                items.append(item)
        return replace(self, items=tuple(items))

    def pay(self, payment: Payment, rates: RateTable | None = None) -> Decision[PaymentResult]:
        """Allocate ``payment`` (ЗЗД art. 76); with ``rates``, interest is first charged to its day.

        Order: the invoice the customer named, then the oldest due; within each,
        costs, interest, fee; the rest becomes credit.
        """
        if not isinstance(payment.amount, Decimal) or payment.amount <= 0:
            raise RuleError(f"a payment is a positive Decimal amount, got {payment.amount!r}")
        ledger = self.accrue(payment.paid_on, rates) if rates is not None else self
        order = sorted(
            range(len(ledger.items)),
            key=lambda k: (
                ledger.items[k].invoice_id != payment.invoice_id,
                ledger.items[k].due,
                ledger.items[k].invoice_id,
            ),
        )
        items = list(ledger.items)
        money = cents(payment.amount)
        applied: list[AppliedPart] = []
        settled: list[str] = []
        for k in order:
            if money <= 0:
                break
            left, part, money = _settle(items[k], money)
            items[k] = left
            applied.append(part)
            if left.balance == 0:
                settled.append(left.invoice_id)
        result = PaymentResult(
            ledger=Ledger(
                items=tuple(i for i in items if i.balance > 0), credit=ledger.credit + money
            ),
            applied=tuple(applied),
            settled=tuple(settled),
            credit_added=money,
        )
        to_interest = sum((p.interest for p in applied), ZERO)
        to_principal = sum((p.principal for p in applied), ZERO)
        to_costs = sum((p.costs for p in applied), ZERO)
        return Decision(
            value=result,
            clause="4.3",
            reason_bg=(
                f"Плащане {payment.amount} EUR от {payment.paid_on.isoformat()} (чл. 76 ЗЗД: "
                f"посочената фактура, после най-старите; разноски, лихви, главница): "
                f"разноски {to_costs}, лихви {to_interest}, такси {to_principal}, "
                f"кредит {money} EUR."
            ),
            reason_en=(
                f"Payment of {payment.amount} EUR on {payment.paid_on.isoformat()} (ЗЗД art. 76:"
                f" the named invoice, then the oldest; costs, interest, principal): costs "
                f"{to_costs}, interest {to_interest}, fees {to_principal}, credit {money} EUR."
            ),
            numbers={
                "paid_on": payment.paid_on,
                "amount": payment.amount,
                "named_invoice": payment.invoice_id,
                "to_costs": to_costs,
                "to_interest": to_interest,
                "to_principal": to_principal,
                "credit_added": money,
                "settled": ", ".join(settled),
            },
        )
