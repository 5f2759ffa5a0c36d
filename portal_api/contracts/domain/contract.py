"""The individual MyEnergy contract as a value object (General Terms 1.1, 2.1, 2.2).

1.1: the customer (or an authorised representative) signs an individual contract
naming the subscription period and the sites; the monthly fee follows from the
number of sites, their voltage level and the multimeters installed (4.1).
2.1: the contract is in force from the day it is signed. 2.2: the period is 12 or
24 months. The preamble: a customer is a natural person with legal capacity, a
sole trader or a legal entity owning or using sites connected at low, medium or
high voltage.

States (docs/contract-rules.md, "States of the contract"): draft, signed,
installation, active, suspended, terminated, dismantled, plus
``ended_installation_impossible`` for 1.5 (the contract is deemed terminated with
no sanctions or penalties for either side and nothing was installed, so nothing
is dismantled). Which event moves a contract between them is
:mod:`portal_api.contracts.domain.lifecycle`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import StrEnum

from portal_api.contracts.domain.decision import RuleError

__all__ = [
    "SUBSCRIPTION_PERIODS",
    "Contract",
    "ContractState",
    "CustomerKind",
    "Site",
    "TerminationGround",
    "VoltageLevel",
]

SUBSCRIPTION_PERIODS = (12, 24)  # 2.2: the subscription period in months


class CustomerKind(StrEnum):
    """Preamble: who may be a customer."""

    NATURAL_PERSON = "natural_person"
    SOLE_TRADER = "sole_trader"
    LEGAL_ENTITY = "legal_entity"


class VoltageLevel(StrEnum):
    """Preamble, 1.4.1: the level at which a site is connected to the network."""

    LV = "LV"
    MV = "MV"
    HV = "HV"


class ContractState(StrEnum):
    DRAFT = "draft"
    SIGNED = "signed"  # 2.1: in force from signing
    INSTALLATION = "installation"  # 1.4.2: a technician's visit is agreed
    ACTIVE = "active"  # 1.4.2: installed, handover protocol signed
    SUSPENDED = "suspended"  # 4.4: access stopped for late payment
    TERMINATED = "terminated"  # 7.x: ended; equipment (if any) awaits dismantling (7.7)
    DISMANTLED = "dismantled"  # 7.7: equipment removed, protocol (Appendix 2) signed
    ENDED_INSTALLATION_IMPOSSIBLE = "ended_installation_impossible"  # 1.5, 7.1c


STATE_BG: dict[ContractState, str] = {
    ContractState.DRAFT: "чернова",
    ContractState.SIGNED: "подписан",
    ContractState.INSTALLATION: "в инсталация",
    ContractState.ACTIVE: "активен",
    ContractState.SUSPENDED: "с преустановен достъп",
    ContractState.TERMINATED: "прекратен",
    ContractState.DISMANTLED: "прекратен, оборудването е демонтирано",
    ContractState.ENDED_INSTALLATION_IMPOSSIBLE: "прекратен поради невъзможност за инсталация",
}


class TerminationGround(StrEnum):
    """Why a contract ends (7.1 to 7.5); the value is the clause that gives the right.

    The one list of grounds: the life cycle (``lifecycle``) and the money of the
    end (``termination`` and the modules beside it) both use it. 7.1c (1.5,
    installation impossible) is the life cycle's ``impossible`` event, which needs
    a statement of findings (Appendix 3); ``Terminate(IMPOSSIBLE_INSTALLATION)``
    is that event. Change of ownership or use of only SOME sites (7.1h, second
    sentence) does not end the contract: it continues for the other sites with a
    reduced fee.
    """

    TERM_EXPIRED = "7.1a"
    MUTUAL_CONSENT = "7.1b"
    IMPOSSIBLE_INSTALLATION = "7.1c"
    FORCE_MAJEURE = "7.1d"
    STATE_ACT = "7.1e"
    DEATH_OR_INCAPACITY = "7.1f"
    LIQUIDATION_OR_INSOLVENCY = "7.1g"
    CHANGE_OF_OWNERSHIP = "7.1h"
    CUSTOMER_EARLY = "7.2"
    COMPANY_EARLY = "7.3"
    NO_INSTALLATION_ACCESS = "1.4.2"  # 7.4
    NON_PAYMENT = "4.4"  # 7.4
    CUSTOMER_DAMAGE = "5.3"  # 7.4
    AMENDED_TERMS = "7.5a"
    INTERRUPTIONS = "7.5b"
    OFF_PREMISES_WITHDRAWAL = "7.5c"


@dataclass(frozen=True)
class Site:
    """A metering point of the network operator (1.1) and its multimeters (4.1)."""

    site_id: str
    voltage: VoltageLevel
    multimeters: int = 1

    def __post_init__(self) -> None:
        if not self.site_id.strip():
            raise RuleError("a site needs its metering point identifier")
        if self.multimeters < 1:
            raise RuleError(f"site {self.site_id}: at least one multimeter, got {self.multimeters}")


@dataclass(frozen=True)
class Contract:
    """One individual contract; dates are local (Europe/Sofia) calendar days.

    ``in_force_on`` is ``signed_on`` (2.1). ``credentials_given_on`` is the day the
    username and password were sent to ``email`` (1.6, 9.1b). A renewal (2.4) is a
    new Contract whose ``renewal_of`` names the previous one.
    """

    number: str
    customer_kind: CustomerKind
    sites: tuple[Site, ...]
    period_months: int
    email: str
    off_premises: bool = False
    state: ContractState = ContractState.DRAFT
    renewal_of: str | None = None
    signed_on: dt.date | None = None
    installed_on: dt.date | None = None
    protocols_signed_on: dt.date | None = None
    credentials_given_on: dt.date | None = None
    subscription_start: dt.date | None = None
    subscription_end: dt.date | None = None
    suspended_on: dt.date | None = None
    terminated_on: dt.date | None = None
    termination_ground: TerminationGround | None = None
    dismantled_on: dt.date | None = None

    def __post_init__(self) -> None:
        if self.period_months not in SUBSCRIPTION_PERIODS:
            raise RuleError(f"2.2: the period is 12 or 24 months, got {self.period_months}")
        if not self.sites:
            raise RuleError("1.1: a contract names at least one site")
        ids = [s.site_id for s in self.sites]
        if len(set(ids)) != len(ids):
            raise RuleError("1.1: a site appears twice in the contract")
        if "@" not in self.email:
            raise RuleError("1.6: the contract needs the e-mail address for the credentials")

    @property
    def in_force_on(self) -> dt.date | None:
        """2.1: the contract is in force from the date it is signed."""
        return self.signed_on

    @property
    def has_equipment(self) -> bool:
        """Equipment was installed (1.4.2), so ending the contract means dismantling (7.7)."""
        return self.installed_on is not None

    def with_(self, **changes: object) -> Contract:
        """A copy with ``changes`` (a frozen value object is never modified)."""
        return replace(self, **changes)  # type: ignore[arg-type]
