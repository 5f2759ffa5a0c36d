"""Price list versions (General Terms 4.1, 4.2): list them, read one, publish a new one.

4.1: every version prices each voltage level (LV/MV/HV) for both periods (12/24
months) and one "additional device"; the domain's ``PriceList`` refuses an
incomplete or malformed version. 4.2: a signed contract keeps the version in
force on its signing day, so a version may not take effect in the past (it would
rewrite which prices were "in force" for contracts already signed) and two
versions may not start on the same day (which one is in force would be
ambiguous; the table's unique constraint says the same).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from portal_api.accounts.audit import write_audit
from portal_api.contracts.app.contracts_common import Actor, ContractAppError
from portal_api.contracts.db.models import ContractRow, PriceListRow
from portal_api.contracts.db.repository import ContractRepository, NotFoundError
from portal_api.contracts.domain.contract import SUBSCRIPTION_PERIODS, VoltageLevel
from portal_api.contracts.domain.dates import local_date
from portal_api.contracts.domain.decision import RuleError
from portal_api.contracts.domain.prices import PriceList

__all__ = ["PriceListDraft", "PriceListService", "PriceListView"]


@dataclass(frozen=True)
class PriceListView:
    """One version as staff see it; ``contracts`` signed with it keep it (4.2)."""

    id: int
    name: str
    effective_from: dt.date
    unit_prices: Mapping[tuple[VoltageLevel, int], Decimal]
    additional_device: Decimal
    contracts: int
    in_force: bool  # the version in force today
    future: bool  # not yet in force

    def unit_price(self, voltage: str, months: int) -> Decimal:
        return self.unit_prices[(VoltageLevel(voltage), months)]


@dataclass(frozen=True)
class PriceListDraft:
    """A version to publish: the six unit prices (voltage, months) and the extra device."""

    name: str
    effective_from: dt.date
    unit_prices: Mapping[tuple[VoltageLevel, int], Decimal]
    additional_device: Decimal


class PriceListService:
    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], dt.datetime]) -> None:
        self.sessions = sessions
        self.clock = clock

    def _today(self) -> dt.date:
        return local_date(self.clock())

    def versions(self) -> list[PriceListView]:
        """Every version, the newest first."""
        with self.sessions() as session:
            ids = session.scalars(
                select(PriceListRow.id).order_by(PriceListRow.effective_from.desc())
            ).all()
            return self._views(session, list(ids))

    def get(self, price_list_id: int) -> PriceListView:
        with self.sessions() as session:
            views = self._views(session, [price_list_id])
        return views[0]

    def _views(self, session: Session, ids: list[int]) -> list[PriceListView]:
        repository = ContractRepository(session)
        today = self._today()
        in_force = session.scalar(
            select(PriceListRow.id)
            .where(PriceListRow.effective_from <= today)
            .order_by(PriceListRow.effective_from.desc())
            .limit(1)
        )
        counts: dict[int | None, int] = {
            price_list_id: count
            for price_list_id, count in session.execute(
                select(ContractRow.price_list_id, func.count()).group_by(ContractRow.price_list_id)
            )
        }
        views = []
        for price_list_id in ids:
            try:
                prices = repository.price_list(price_list_id)
            except NotFoundError:
                raise ContractAppError(
                    404, "Няма такъв ценоразпис.", "No such price list."
                ) from None
            views.append(
                PriceListView(
                    id=price_list_id,
                    name=prices.name,
                    effective_from=prices.effective_from,
                    unit_prices=dict(prices.items),
                    additional_device=prices.additional_device,
                    contracts=counts.get(price_list_id, 0),
                    in_force=price_list_id == in_force,
                    future=prices.effective_from > today,
                )
            )
        return views

    def publish(self, draft: PriceListDraft, actor: Actor) -> PriceListView:
        """4.1, 4.2: add a version; not in the past, one per day, one per name."""
        today = self._today()
        if draft.effective_from < today:
            raise ContractAppError(
                400,
                f"Ценоразпис не може да влезе в сила в миналото ({draft.effective_from:%d.%m.%Y}"
                f" < {today:%d.%m.%Y}): договорите пазят цените, в сила при подписването им "
                "(т. 4.2).",
                f"A price list cannot take effect in the past ({draft.effective_from.isoformat()}"
                f" < {today.isoformat()}): contracts keep the prices in force when they were "
                "signed (4.2).",
            )
        name = draft.name.strip()
        if not name or len(name) > 32:
            raise ContractAppError(
                400,
                "Името на ценоразписа е задължително (до 32 знака).",
                "The price list needs a name (up to 32 characters).",
            )
        missing = [
            f"{level.value}/{months}"
            for level in VoltageLevel
            for months in SUBSCRIPTION_PERIODS
            if (level, months) not in draft.unit_prices
        ]
        if missing:
            raise ContractAppError(
                400,
                f"Липсват единични цени (т. 4.1): {', '.join(missing)}.",
                f"Unit prices are missing (4.1): {', '.join(missing)}.",
            )
        try:
            prices = PriceList(
                effective_from=draft.effective_from,
                items=dict(draft.unit_prices),
                additional_device=draft.additional_device,
                name=name,
            )
        except RuleError as error:
            raise ContractAppError(
                400, f"Невалиден ценоразпис: {error}.", f"Invalid price list: {error}."
            ) from None
        with self.sessions.begin() as session:
            clash = session.scalars(
                select(PriceListRow).where(
                    (PriceListRow.effective_from == prices.effective_from)
                    | (PriceListRow.version == name)
                )
            ).first()
            if clash is not None:
                same_day = clash.effective_from == prices.effective_from
                raise ContractAppError(
                    409,
                    f"Вече има ценоразпис „{clash.version}“ в сила от "
                    f"{clash.effective_from:%d.%m.%Y}"
                    + (
                        ": два ценоразписа от един ден правят т. 4.2 двусмислена."
                        if same_day
                        else "."
                    ),
                    f"There is already a price list '{clash.version}' in force from "
                    f"{clash.effective_from.isoformat()}"
                    + (
                        ": two versions from one day would make 4.2 ambiguous." if same_day else "."
                    ),
                )
            price_list_id = ContractRepository(session).add_price_list(prices)
            write_audit(
                session,
                self.clock(),
                "price_list.publish",
                actor_user_id=actor.user_id,
                object_type="price_list",
                object_id=price_list_id,
                ip=actor.ip,
                detail={
                    "name": name,
                    "effective_from": prices.effective_from.isoformat(),
                    "additional_device": str(prices.additional_device),
                    "unit_prices": {
                        f"{level.value}/{months}": str(price)
                        for (level, months), price in sorted(prices.items.items())
                    },
                },
            )
        return self.get(price_list_id)
