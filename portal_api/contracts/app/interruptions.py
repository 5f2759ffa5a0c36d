"""Interruptions of the Service, the write side: the changes the API, the pages and
the CLI make (General Terms 3.2б, 3.2в, 5.1, 5.2, 5.3).

- staff open an interruption (planned with its planned end, or unplanned), update
  it (end it, notice / detection / report times, fault flags, sites), every change
  audited;
- after every change the engine sends the notice that is due (3.2б / 3.2в,
  interruptions_notices) and grants the free months earned (5.1 / 5.2,
  interruptions_compensation);
- ``open_from_proposal``: staff confirm a silent-device proposal (5.2,
  interruptions_silence) and the unplanned interruption is opened.

The reads (one interruption with its checks, the list, a contract's summary, the
pending proposals) and ``InterruptionError`` are in ``interruptions_views``.

The caller owns the transaction (``with sessions.begin() as session``); nothing
here commits. Times are aware datetimes; a naive one is refused (400).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from portal_api.accounts.audit import write_audit
from portal_api.contracts.app.interruptions_compensation import grant_free_months
from portal_api.contracts.app.interruptions_notices import send_notice
from portal_api.contracts.app.interruptions_views import (
    InterruptionError,
    InterruptionView,
    _contract,
    _not_found,
    _record,
    interruption_view,
)
from portal_api.contracts.db.enums import DecisionKind, DecisionState, InterruptionSource
from portal_api.contracts.db.events_repository import EventRepository
from portal_api.contracts.db.records import ContractRecord, InterruptionRecord
from portal_api.contracts.domain.decision import RuleError
from portal_api.contracts.domain.interruptions import Interruption, Kind
from portal_api.domain.workdays import WorkingDays
from portal_api.notify.outbox import Outbox

__all__ = [
    "CHANGEABLE",
    "InterruptionInput",
    "open_from_proposal",
    "open_interruption",
    "update_interruption",
]

# What staff may change on an interruption (PATCH); kind, start and contract are facts
# of its opening: a wrong one is corrected by opening the right interruption.
CHANGEABLE = frozenset(
    {
        "end",
        "notified_at",
        "detected_at",
        "reported_by_customer_at",
        "company_fault",
        "customer_caused",
        "customer_obstructed",
        "sites",
    }
)
_TIMES = ("start", "end", "notified_at", "detected_at", "reported_by_customer_at")


def _bad(error: Exception) -> InterruptionError:
    return InterruptionError(400, str(error), f"Невалидни данни: {error}")


@dataclass(frozen=True)
class InterruptionInput:
    """What staff give to open an interruption.

    ``end``: for a planned interruption its planned end (corrected later with the
    real one), for an unplanned one the end if it is already over. ``sites``: the
    contract's sites it touches, empty for the whole contract. ``company_fault``
    None: the company's, unless ``customer_caused`` (5.3).
    """

    contract_number: str
    kind: Kind
    start: dt.datetime
    end: dt.datetime | None = None
    sites: tuple[str, ...] = ()
    company_fault: bool | None = None
    customer_caused: bool = False
    customer_obstructed: bool = False
    notified_at: dt.datetime | None = None
    detected_at: dt.datetime | None = None
    reported_by_customer_at: dt.datetime | None = None


# -- helpers ---------------------------------------------------------------------------


def _require_aware(values: Mapping[str, object]) -> None:
    for name in _TIMES:
        value = values.get(name)
        if isinstance(value, dt.datetime) and (value.tzinfo is None or value.utcoffset() is None):
            raise InterruptionError(
                400,
                f"{name} must be an ISO 8601 time with its UTC offset "
                "(e.g. 2026-03-02T08:00:00+02:00), got a time without one",
                f"{name}: времето трябва да е по ISO 8601 с отместване от UTC "
                "(напр. 2026-03-02T08:00:00+02:00).",
            )


def _check_sites(record: ContractRecord, sites: Iterable[str]) -> frozenset[str]:
    known = {site.site_id for site in record.contract.sites}
    wanted = frozenset(sites)
    unknown = sorted(wanted - known)
    if unknown:
        raise InterruptionError(
            400,
            f"sites not in contract {record.contract.number}: {', '.join(unknown)}",
            f"Обекти извън договор {record.contract.number}: {', '.join(unknown)}",
        )
    # Every site named is the whole contract: stored as "all" so a site added later
    # is not silently left out of an interruption of the whole contract.
    return frozenset() if wanted == known else wanted


def _outbox(session: Session, now: dt.datetime) -> Outbox:
    """An outbox writing into ``session`` (``enqueue`` only uses the clock)."""
    return Outbox(sessionmaker(bind=session.get_bind()), clock=lambda: now)


def _after_change(
    session: Session,
    record: InterruptionRecord,
    contract: ContractRecord,
    *,
    calendar: WorkingDays,
    outbox: Outbox,
    now: dt.datetime,
) -> dict[str, object]:
    """The engine's part after any change: the notice due, the free months earned."""
    sent = send_notice(
        session, record, contract.contract.email, calendar=calendar, outbox=outbox, now=now
    )
    granted = grant_free_months(session, record.contract_number, calendar=calendar, now=now)
    return {"notice_sent": sent, "free_months_granted": granted}


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(dt.UTC).isoformat()


def _audit_values(item: Interruption) -> dict[str, object]:
    """The interruption in the audit log: times (UTC), flags, sites (no personal data)."""
    return {
        "kind": item.kind,
        "start": _iso(item.start),
        "end": _iso(item.end),
        "notified_at": _iso(item.notified_at),
        "detected_at": _iso(item.detected_at),
        "reported_by_customer_at": _iso(item.reported_by_customer_at),
        "company_fault": item.company_fault,
        "customer_caused": item.customer_caused,
        "customer_obstructed": item.customer_obstructed,
        "sites": sorted(item.sites),
        "device_id": item.device_id,
    }


def _unplanned_end_not_ahead(item: Interruption, now: dt.datetime) -> None:
    if item.kind == "unplanned" and item.end is not None and item.end > now:
        raise InterruptionError(
            400,
            "an unplanned interruption cannot end in the future",
            "Непланирано прекъсване не може да приключи в бъдещ момент.",
        )


# -- staff operations -------------------------------------------------------------------


def open_interruption(
    session: Session,
    data: InterruptionInput,
    *,
    user_id: int,
    ip: str | None,
    calendar: WorkingDays,
    now: dt.datetime,
    outbox: Outbox | None = None,
) -> InterruptionView:
    """Staff open an interruption (5.1 planned / 5.2 unplanned); audited; the notice
    that is due goes out and the free months earned are granted in the same transaction."""
    _require_aware({name: getattr(data, name) for name in _TIMES})
    contract = _contract(session, data.contract_number)
    sites = _check_sites(contract, data.sites)
    company_fault = (
        data.company_fault if data.company_fault is not None else not data.customer_caused
    )
    try:
        item = Interruption(
            kind=data.kind,
            start=data.start,
            end=data.end,
            notified_at=data.notified_at,
            company_fault=company_fault,
            sites=sites,
            detected_at=data.detected_at,
            reported_by_customer_at=data.reported_by_customer_at,
            customer_caused=data.customer_caused,
            customer_obstructed=data.customer_obstructed,
        )
    except RuleError as error:
        raise _bad(error) from None
    _unplanned_end_not_ahead(item, now)
    events = EventRepository(session)
    new_id = events.add_interruption(data.contract_number, item, InterruptionSource.STAFF)
    assert new_id is not None  # a staff row names no device: never a duplicate
    record = _record(session, new_id)
    engine = _after_change(
        session,
        record,
        contract,
        calendar=calendar,
        outbox=outbox or _outbox(session, now),
        now=now,
    )
    write_audit(
        session,
        now,
        "interruption.open",
        actor_user_id=user_id,
        object_type="interruption",
        object_id=new_id,
        ip=ip,
        detail={"contract": data.contract_number, **_audit_values(item), **engine},
    )
    return interruption_view(session, new_id, calendar=calendar, now=now)


def update_interruption(
    session: Session,
    interruption_id: int,
    changes: Mapping[str, object],
    *,
    user_id: int,
    ip: str | None,
    calendar: WorkingDays,
    now: dt.datetime,
    outbox: Outbox | None = None,
) -> InterruptionView:
    """Staff change an interruption (end it, set notice / detection / report times,
    fault flags, sites: the names of ``CHANGEABLE``); audited with before and after.
    A change that changes nothing is neither saved nor audited."""
    unknown = sorted(set(changes) - CHANGEABLE)
    if unknown:
        raise InterruptionError(
            400,
            f"cannot change {', '.join(unknown)}",
            f"Не може да се променя: {', '.join(unknown)}",
        )
    _require_aware(changes)
    record = _record(session, interruption_id)
    contract = _contract(session, record.contract_number)
    before = record.interruption
    values: dict[str, Any] = dict(changes)
    if "sites" in values:
        values["sites"] = _check_sites(contract, values["sites"] or ())
    if values.get("customer_caused") and "company_fault" not in values:
        values["company_fault"] = False  # 5.3: then it is not the company's fault
    try:
        after = replace(before, **values)
    except (RuleError, TypeError) as error:
        raise _bad(error) from None
    if after == before:
        return interruption_view(session, interruption_id, calendar=calendar, now=now)
    _unplanned_end_not_ahead(after, now)
    if before.end is not None and after.end is None:
        raise InterruptionError(
            409,
            "an ended interruption cannot be reopened: open a new one",
            "Приключило прекъсване не може да се отвори отново: въведете ново.",
        )
    events = EventRepository(session)
    events.save_interruption(interruption_id, after)
    record = _record(session, interruption_id)
    engine = _after_change(
        session,
        record,
        contract,
        calendar=calendar,
        outbox=outbox or _outbox(session, now),
        now=now,
    )
    old, new = _audit_values(before), _audit_values(after)
    write_audit(
        session,
        now,
        "interruption.update",
        actor_user_id=user_id,
        object_type="interruption",
        object_id=interruption_id,
        ip=ip,
        detail={
            "contract": record.contract_number,
            "changed": {k: [old[k], new[k]] for k in new if old[k] != new[k]},
            **engine,
        },
    )
    return interruption_view(session, interruption_id, calendar=calendar, now=now)


# -- silent devices (5.2) ------------------------------------------------------------------


def _parse_time(value: object, name: str) -> dt.datetime:
    if not isinstance(value, str):
        raise InterruptionError(409, f"the proposal has no {name}", "Предложението е непълно.")
    return dt.datetime.fromisoformat(value)


def open_from_proposal(
    session: Session,
    decision_id: int,
    user_id: int,
    now: dt.datetime,
    *,
    calendar: WorkingDays | None = None,
    outbox: Outbox | None = None,
    ip: str | None = None,
) -> InterruptionRecord:
    """Confirm a silent-device proposal (5.2) and open its unplanned interruption.

    The contract with the decisions queue (H4's confirm endpoint calls this for a
    decision of kind INTERRUPTION_PROPOSED; ``reject`` needs nothing of ours, it is
    ``EventRepository.decide(confirmed=False)``):

    - ``decision_id`` must name a decision of kind ``INTERRUPTION_PROPOSED`` in
      state ``proposed``: otherwise ``InterruptionError`` 404 (unknown id or another
      kind: the route answers as for an unknown proposal) or 409 (already decided);
    - in the caller's transaction: the decision becomes ``confirmed`` by
      ``user_id`` at ``now``; an UNPLANNED interruption is opened with source
      DEVICE_SILENCE, start = detected_at = the start of the silence, no end,
      the company's fault (presumed, docs/contract-rules.md "3.2б ... silent
      devices"; staff correct it with ``update_interruption``), the device and its
      site; an interruption already opened for the same device and start is
      reused, never doubled;
    - the 3.2б notice goes out (the silence lasted over 6 hours by construction),
      the free months earned are granted, the confirmation is audited;
    - returns the interruption's record (its ``id`` for the detail page / API).
    """
    calendar = calendar or WorkingDays()
    events = EventRepository(session)
    proposal = events.decision(decision_id)
    if proposal is None or proposal.kind is not DecisionKind.INTERRUPTION_PROPOSED:
        raise _not_found(f"interruption proposal {decision_id}")
    if proposal.state is not DecisionState.PROPOSED:
        raise InterruptionError(
            409,
            f"proposal {decision_id} is already {proposal.state}",
            "Предложението вече е "
            + ("потвърдено." if proposal.state is DecisionState.CONFIRMED else "отхвърлено."),
        )
    numbers = proposal.explanation.get("numbers")
    value = proposal.explanation.get("value")
    if not isinstance(numbers, Mapping) or not isinstance(value, Mapping):
        raise InterruptionError(409, "the proposal is incomplete", "Предложението е непълно.")
    device_id = numbers.get("device_id")
    if not isinstance(device_id, str):
        raise InterruptionError(409, "the proposal names no device", "Предложението е непълно.")
    since = _parse_time(numbers.get("silent_since"), "silence start")
    sites = value.get("sites") or []
    contract = _contract(session, proposal.contract_number)
    item = Interruption(
        kind="unplanned",
        start=since,
        end=None,
        company_fault=True,
        sites=_check_sites(contract, [str(s) for s in sites]),
        detected_at=since,
        device_id=device_id,
    )
    events.decide(decision_id, confirmed=True, user_id=user_id, at=now)
    new_id = events.add_interruption(
        proposal.contract_number, item, InterruptionSource.DEVICE_SILENCE
    )
    if new_id is None:
        existing = [
            r
            for r in events.interruptions(proposal.contract_number, device_id=device_id)
            if r.interruption.start == since
        ]
        assert existing and existing[0].id is not None
        new_id = existing[0].id
    record = _record(session, new_id)
    engine = _after_change(
        session,
        record,
        contract,
        calendar=calendar,
        outbox=outbox or _outbox(session, now),
        now=now,
    )
    write_audit(
        session,
        now,
        "interruption.open_from_proposal",
        actor_user_id=user_id,
        object_type="interruption",
        object_id=new_id,
        ip=ip,
        detail={
            "contract": proposal.contract_number,
            "decision": decision_id,
            **_audit_values(item),
            **engine,
        },
    )
    return _record(session, new_id)
