"""The life cycle of a contract: only the transitions the General Terms allow.

::

    draft --sign (2.1)--> signed --installation_booked (1.4.2)--> installation
    installation --visit_postponed (1.4.2, mismatch)--> signed
    installation --installed (1.4.2, handover protocol)--> active
    signed | installation --impossible (1.5)--> ended_installation_impossible
    active --suspend (4.4)--> suspended --restore (4.4)--> active
    signed | installation | active | suspended --terminate(ground) (7.x)--> terminated
    terminated --dismantled (7.7), only if equipment was installed--> dismantled

``transition`` guards states and parties (who may invoke a ground, whether there
is equipment to dismantle, whether the term has run). The time limits behind a
"may" right are judged by their own rules and confirmed by staff: more than 5 /
45 days late (4.4, interest.py), notice periods and the 14-day withdrawal
(7.2, 7.3, 7.5, termination.py), force majeure over 60 days (7.1d). A refused
transition is a Decision with ``allowed=False`` and the reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from portal_api.contracts.domain.contract import (
    STATE_BG,
    Contract,
    ContractState,
    CustomerKind,
    TerminationGround,
)
from portal_api.contracts.domain.decision import Decision, Number

__all__ = ["Event", "Terminate", "apply", "transition"]

S = ContractState
G = TerminationGround


class Event(StrEnum):
    SIGN = "sign"
    INSTALLATION_BOOKED = "installation_booked"
    VISIT_POSTPONED = "visit_postponed"
    INSTALLED = "installed"
    IMPOSSIBLE = "impossible"
    SUSPEND = "suspend"
    RESTORE = "restore"
    DISMANTLED = "dismantled"
    RENEWAL_STARTS = "renewal_starts"


@dataclass(frozen=True)
class Terminate:
    """The event that ends a contract on ``ground`` (7.1 to 7.5)."""

    ground: TerminationGround


# event -> (clause, states it may leave, state it enters, bg, en)
_SIMPLE: dict[Event, tuple[str, frozenset[ContractState], ContractState, str, str]] = {
    Event.SIGN: ("2.1", frozenset({S.DRAFT}), S.SIGNED, "подписване", "signing"),
    Event.INSTALLATION_BOOKED: (
        "1.4.2",
        frozenset({S.SIGNED}),
        S.INSTALLATION,
        "уговорено посещение за инсталация",
        "installation visit booked",
    ),
    Event.VISIT_POSTPONED: (
        "1.4.2",
        frozenset({S.INSTALLATION}),
        S.SIGNED,
        "отложена инсталация поради несъответствие",
        "installation postponed for a mismatch",
    ),
    Event.INSTALLED: (
        "1.4.2",
        frozenset({S.INSTALLATION}),
        S.ACTIVE,
        "инсталирано оборудване с подписан приемо-предавателен протокол",
        "equipment installed, handover protocol signed",
    ),
    Event.IMPOSSIBLE: (
        "1.5",
        frozenset({S.SIGNED, S.INSTALLATION}),
        S.ENDED_INSTALLATION_IMPOSSIBLE,
        "невъзможна инсталация (констативен протокол)",
        "installation impossible (statement of findings)",
    ),
    Event.SUSPEND: (
        "4.4",
        frozenset({S.ACTIVE}),
        S.SUSPENDED,
        "преустановяване на достъпа поради забава",
        "access suspended for late payment",
    ),
    Event.RESTORE: (
        "4.4",
        frozenset({S.SUSPENDED}),
        S.ACTIVE,
        "възстановяване на достъпа след плащане",
        "access restored after payment",
    ),
    Event.RENEWAL_STARTS: (
        "2.4",
        frozenset({S.SIGNED}),
        S.ACTIVE,
        "начало на подновения договор (оборудването остава на обекта)",
        "the renewal starts (the equipment stays on site)",
    ),
    Event.DISMANTLED: (
        "7.7",
        frozenset({S.TERMINATED}),
        S.DISMANTLED,
        "демонтаж на оборудването",
        "equipment dismantled",
    ),
}

_IN_FORCE = frozenset({S.SIGNED, S.INSTALLATION, S.ACTIVE, S.SUSPENDED})
_BEFORE_INSTALLATION = frozenset({S.SIGNED, S.INSTALLATION})
_WITH_SERVICE = frozenset({S.ACTIVE, S.SUSPENDED})

# ground -> (states it may end, bg, en, penalty clause that follows or None)
_GROUNDS: dict[TerminationGround, tuple[frozenset[ContractState], str, str, str | None]] = {
    G.TERM_EXPIRED: (_WITH_SERVICE, "изтичане на срока на абонамента", "term expired", None),
    G.MUTUAL_CONSENT: (_IN_FORCE, "взаимно съгласие", "mutual consent", None),
    G.FORCE_MAJEURE: (_IN_FORCE, "непреодолима сила над 60 дни", "force majeure > 60 days", None),
    G.STATE_ACT: (_IN_FORCE, "акт на държавен орган", "act of a state authority", None),
    G.DEATH_OR_INCAPACITY: (
        _IN_FORCE,
        "смърт или поставяне под запрещение",
        "death or legal incapacity",
        None,
    ),
    G.LIQUIDATION_OR_INSOLVENCY: (
        _IN_FORCE,
        "ликвидация или несъстоятелност",
        "liquidation or insolvency",
        None,
    ),
    G.CHANGE_OF_OWNERSHIP: (
        _IN_FORCE,
        "промяна в собствеността или ползването на всички обекти",
        "change of ownership or use of all sites",
        "8.1c",
    ),
    G.CUSTOMER_EARLY: (
        _IN_FORCE,
        "предсрочно прекратяване от потребителя",
        "early termination by the customer",
        "8.1b",
    ),
    G.COMPANY_EARLY: (
        _IN_FORCE,
        "предсрочно прекратяване от дружеството",
        "early termination by the company",
        "8.2",
    ),
    G.NO_INSTALLATION_ACCESS: (
        _BEFORE_INSTALLATION,
        "отказ или липса на достъп за инсталация / няма свързване СН-ВН",
        "installation access refused or no MV/HV connection",
        None,
    ),
    G.NON_PAYMENT: (
        _WITH_SERVICE,
        "неплащане над 45 дни след падежа",
        "unpaid more than 45 days after the due date",
        "8.1b",
    ),
    G.CUSTOMER_DAMAGE: (
        _WITH_SERVICE,
        "повреда на оборудването по вина на потребителя",
        "equipment damaged by the customer",
        "8.1a",
    ),
    G.AMENDED_TERMS: (
        _IN_FORCE,
        "несъгласие с изменени Общи условия",
        "disagreement with amended General Terms",
        None,
    ),
    G.INTERRUPTIONS: (
        _WITH_SERVICE,
        "прекъсвания над уговорените стойности",
        "interruptions beyond the agreed limits",
        None,
    ),
    G.OFF_PREMISES_WITHDRAWAL: (
        _IN_FORCE,
        "отказ от договор извън търговския обект (чл. 50 ЗЗП)",
        "withdrawal from an off-premises contract (Consumer Protection Act art. 50)",
        None,
    ),
}


def _refuse(contract: Contract, clause: str, bg: str, en: str, **numbers: Number) -> Decision[S]:
    return Decision(
        value=contract.state,
        clause=clause,
        reason_bg=bg,
        reason_en=en,
        allowed=False,
        numbers={"state": contract.state.value, **numbers},
    )


def _before_signing(
    contract: Contract, clause: str, on: dt.date, what_bg: str, what_en: str, **numbers: Number
) -> Decision[S] | None:
    """2.1: nothing happens to a contract before it is signed (it is in force from then)."""
    if contract.signed_on is None or on >= contract.signed_on:
        return None
    return _refuse(
        contract,
        clause,
        f"Датата на {what_bg} е преди подписването на договора.",
        f"The {what_en} is dated before the contract was signed.",
        **numbers,
        on=on,
        signed_on=contract.signed_on,
    )


def transition(contract: Contract, event: Event | Terminate, on: dt.date) -> Decision[S]:
    """The state ``contract`` enters on ``on`` through ``event``, or why it may not."""
    if isinstance(event, Terminate):
        return _terminate(contract, event.ground, on)
    clause, sources, target, bg, en = _SIMPLE[event]
    if contract.state not in sources:
        return _refuse(
            contract,
            clause,
            f"„{bg}“ не е допустимо, когато договорът е {STATE_BG[contract.state]}.",
            f"'{en}' is not allowed while the contract is {contract.state.value}.",
            event=event.value,
        )
    if event is Event.DISMANTLED and not contract.has_equipment:
        return _refuse(
            contract,
            clause,
            "По договора не е инсталирано оборудване: няма какво да се демонтира.",
            "No equipment was installed under this contract: nothing to dismantle.",
            event=event.value,
        )
    if event is Event.RENEWAL_STARTS and contract.renewal_of is None:
        return _refuse(
            contract,
            clause,
            "Договорът не подновява друг договор: услугата започва след инсталация (1.4.2).",
            "The contract renews no other: its service starts after installation (1.4.2).",
            event=event.value,
        )
    early = _before_signing(contract, clause, on, "събитието", "event", event=event.value)
    if early is not None:
        return early
    return Decision(
        value=target,
        clause=clause,
        reason_bg=f"{bg.capitalize()}: договорът става {STATE_BG[target]}.",
        reason_en=f"{en.capitalize()}: the contract becomes {target.value}.",
        numbers={"event": event.value, "from": contract.state.value, "to": target.value, "on": on},
    )


def _terminate(contract: Contract, ground: TerminationGround, on: dt.date) -> Decision[S]:
    if ground is G.IMPOSSIBLE_INSTALLATION:  # 7.1c is 1.5: the statement-of-findings event
        return transition(contract, Event.IMPOSSIBLE, on)
    sources, bg, en, penalty = _GROUNDS[ground]
    clause = ground.value
    if contract.state not in sources:
        return _refuse(
            contract,
            clause,
            f"Прекратяване поради „{bg}“ не е допустимо, когато договорът е "
            f"{STATE_BG[contract.state]}.",
            f"Termination for '{en}' is not allowed while the contract is {contract.state.value}.",
            ground=clause,
        )
    early = _before_signing(contract, clause, on, "прекратяване", "termination", ground=clause)
    if early is not None:
        return early
    kind = contract.customer_kind
    if ground is G.DEATH_OR_INCAPACITY and kind is CustomerKind.LEGAL_ENTITY:
        return _refuse(
            contract,
            clause,
            "Т. 7.1е се прилага само когато потребителят е физическо лице (вкл. ЕТ).",
            "7.1f applies only when the customer is a natural person (incl. a sole trader).",
            ground=clause,
            customer_kind=kind.value,
        )
    if ground is G.OFF_PREMISES_WITHDRAWAL and (
        kind is not CustomerKind.NATURAL_PERSON or not contract.off_premises
    ):
        return _refuse(
            contract,
            clause,
            "Т. 7.5в се прилага само за физическо лице (потребител) с договор, сключен "
            "извън центровете за обслужване.",
            "7.5c applies only to a natural person (consumer) whose contract was signed "
            "off the company's premises.",
            ground=clause,
            customer_kind=kind.value,
            off_premises=contract.off_premises,
        )
    if ground is G.TERM_EXPIRED and (
        contract.subscription_end is None or on < contract.subscription_end
    ):
        return _refuse(
            contract,
            clause,
            "Срокът на абонамента не е изтекъл.",
            "The subscription term has not run out.",
            ground=clause,
            on=on,
            subscription_end=contract.subscription_end,
        )
    after = (
        "Следва демонтаж на оборудването (т. 7.7)."
        if contract.has_equipment
        else "Няма инсталирано оборудване."
    )
    after_en = (
        "Equipment is to be dismantled (7.7)."
        if contract.has_equipment
        else "No equipment was installed."
    )
    return Decision(
        value=S.TERMINATED,
        clause=clause,
        reason_bg=f"Договорът се прекратява: {bg}. {after}",
        reason_en=f"The contract ends: {en}. {after_en}",
        numbers={
            "ground": clause,
            "from": contract.state.value,
            "to": S.TERMINATED.value,
            "on": on,
            "penalty_clause": penalty,
            "dismantling_due": contract.has_equipment,
        },
    )


_DATE_FIELD: dict[Event, str] = {
    Event.SIGN: "signed_on",
    Event.INSTALLED: "installed_on",
    Event.SUSPEND: "suspended_on",
    Event.IMPOSSIBLE: "terminated_on",
    Event.DISMANTLED: "dismantled_on",
}


def apply(contract: Contract, event: Event | Terminate, on: dt.date) -> Decision[Contract]:
    """``transition`` and, when allowed, the contract in its new state with the date recorded."""
    decision = transition(contract, event, on)
    if not decision.allowed:
        return Decision(
            value=contract,
            clause=decision.clause,
            reason_bg=decision.reason_bg,
            reason_en=decision.reason_en,
            allowed=False,
            numbers=decision.numbers,
        )
    changes: dict[str, object] = {"state": decision.value}
    if isinstance(event, Terminate):
        changes.update(terminated_on=on, termination_ground=event.ground)
    elif event in _DATE_FIELD:
        changes[_DATE_FIELD[event]] = on
    if event is Event.RESTORE:
        changes["suspended_on"] = None
    return Decision(
        value=contract.with_(**changes),
        clause=decision.clause,
        reason_bg=decision.reason_bg,
        reason_en=decision.reason_en,
        numbers=decision.numbers,
    )
