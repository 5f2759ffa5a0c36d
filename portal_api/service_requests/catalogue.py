"""The services one can request online (seed 000) and each one's sequence of steps.

Three companies of the group: the network operator (Електроразпределение Север АД)
connects consumer and producer sites and concludes contracts under its General
Terms; the supplier (ЕНЕРГО-ПРО Продажби АД) concludes supply contracts under its
General Terms; Energy Services (ЕНЕРГО-ПРО Енергийни услуги ЕАД) offers MyEnergy,
which the seed marks "coming soon" and this portal makes live.

Staff advance a request one step at a time along its sequence; the last step
completes it, and any open request may be rejected with a reason instead. A
MyEnergy request is not advanced by hand: its steps follow the contract it created
(``follow``), so they say what the contract engine did.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "CATALOGUE",
    "Provider",
    "RequestState",
    "ServiceDefinition",
    "ServiceKind",
    "Step",
    "definition",
    "step_title",
]


class Provider(StrEnum):
    NETWORK = "network"
    SUPPLIER = "supplier"
    ENERGY_SERVICES = "energy_services"


PROVIDER_NAME: dict[Provider, tuple[str, str]] = {
    Provider.NETWORK: ("Електроразпределение Север АД", "Elektrorazpredelenie Sever AD"),
    Provider.SUPPLIER: ("ЕНЕРГО-ПРО Продажби АД", "ENERGO-PRO Sales AD"),
    Provider.ENERGY_SERVICES: (
        "ЕНЕРГО-ПРО Енергийни услуги ЕАД",
        "ENERGO-PRO Energy Services EAD",
    ),
}


class ServiceKind(StrEnum):
    CONNECT_CONSUMER = "connect_consumer"
    CONNECT_PRODUCER = "connect_producer"
    NETWORK_CONTRACT = "network_contract"
    SUPPLY_CONTRACT = "supply_contract"
    MYENERGY = "myenergy"


class RequestState(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    REJECTED = "rejected"


class Step(StrEnum):
    RECEIVED = "received"
    DOCUMENTS_CHECKED = "documents_checked"
    CONNECTION_CONDITIONS = "connection_conditions"
    CONNECTION_STUDY = "connection_study"
    CONNECTION_CONTRACT = "connection_contract"
    CONNECTED = "connected"
    CONTRACT_CONCLUDED = "contract_concluded"
    SUPPLY_STARTED = "supply_started"
    # MyEnergy: the contract's life (issue 5)
    SIGNED = "signed"
    INSTALLATION_SCHEDULED = "installation_scheduled"
    INSTALLED = "installed"
    CREDENTIALS_SENT = "credentials_sent"
    ACTIVE = "active"
    REJECTED = "rejected"


_STEP_TITLE: dict[Step, tuple[str, str]] = {
    Step.RECEIVED: ("Заявката е получена", "Request received"),
    Step.DOCUMENTS_CHECKED: ("Документите са проверени", "Documents checked"),
    Step.CONNECTION_CONDITIONS: (
        "Издадено становище за условията за присъединяване",
        "Connection conditions issued",
    ),
    Step.CONNECTION_STUDY: (
        "Извършено проучване и издадено становище за присъединяване",
        "Connection study done, conditions issued",
    ),
    Step.CONNECTION_CONTRACT: (
        "Сключен договор за присъединяване",
        "Connection contract concluded",
    ),
    Step.CONNECTED: ("Обектът е присъединен", "Site connected"),
    Step.CONTRACT_CONCLUDED: ("Договорът е сключен", "Contract concluded"),
    Step.SUPPLY_STARTED: ("Снабдяването е започнало", "Supply started"),
    Step.SIGNED: ("Договорът е подписан", "Contract signed"),
    Step.INSTALLATION_SCHEDULED: (
        "Насрочено посещение за инсталация",
        "Installation visit scheduled",
    ),
    Step.INSTALLED: (
        "Оборудването е инсталирано, приемо-предавателният протокол е подписан",
        "Equipment installed, handover protocol signed",
    ),
    Step.CREDENTIALS_SENT: ("Изпратени данни за достъп", "Credentials sent"),
    Step.ACTIVE: ("Услугата MyEnergy е активна", "MyEnergy is active"),
    Step.REJECTED: ("Заявката е отказана", "Request rejected"),
}


def step_title(step: Step, lang: str) -> str:
    bg, en = _STEP_TITLE[step]
    return bg if lang == "bg" else en


@dataclass(frozen=True)
class ServiceDefinition:
    kind: ServiceKind
    provider: Provider
    title_bg: str
    title_en: str
    steps: tuple[Step, ...]  # in order; the first is RECEIVED, the last completes
    follows_contract: bool = False  # MyEnergy: advanced by the contract engine, not by hand

    def title(self, lang: str) -> str:
        return self.title_bg if lang == "bg" else self.title_en

    def provider_name(self, lang: str) -> str:
        bg, en = PROVIDER_NAME[self.provider]
        return bg if lang == "bg" else en

    def next_step(self, current: Step) -> Step | None:
        """The step after ``current`` in this service's sequence (None after the last)."""
        index = self.steps.index(current)
        return self.steps[index + 1] if index + 1 < len(self.steps) else None

    @property
    def last_step(self) -> Step:
        return self.steps[-1]


CATALOGUE: dict[ServiceKind, ServiceDefinition] = {
    d.kind: d
    for d in (
        ServiceDefinition(
            ServiceKind.CONNECT_CONSUMER,
            Provider.NETWORK,
            "Присъединяване на обект на потребител",
            "Connection of a consumer site",
            (
                Step.RECEIVED,
                Step.DOCUMENTS_CHECKED,
                Step.CONNECTION_CONDITIONS,
                Step.CONNECTION_CONTRACT,
                Step.CONNECTED,
            ),
        ),
        ServiceDefinition(
            ServiceKind.CONNECT_PRODUCER,
            Provider.NETWORK,
            "Присъединяване на обект на производител",
            "Connection of a producer site",
            (
                Step.RECEIVED,
                Step.DOCUMENTS_CHECKED,
                Step.CONNECTION_STUDY,
                Step.CONNECTION_CONTRACT,
                Step.CONNECTED,
            ),
        ),
        ServiceDefinition(
            ServiceKind.NETWORK_CONTRACT,
            Provider.NETWORK,
            "Встъпване в договорни отношения при Общи условия (мрежови услуги)",
            "Contract under the General Terms (network services)",
            (Step.RECEIVED, Step.DOCUMENTS_CHECKED, Step.CONTRACT_CONCLUDED),
        ),
        ServiceDefinition(
            ServiceKind.SUPPLY_CONTRACT,
            Provider.SUPPLIER,
            "Встъпване в договорни отношения при Общи условия (снабдяване)",
            "Contract under the General Terms (electricity supply)",
            (Step.RECEIVED, Step.DOCUMENTS_CHECKED, Step.CONTRACT_CONCLUDED, Step.SUPPLY_STARTED),
        ),
        ServiceDefinition(
            ServiceKind.MYENERGY,
            Provider.ENERGY_SERVICES,
            "MyEnergy — мониторинг на енергията в реално време",
            "MyEnergy — real-time energy monitoring",
            (
                Step.RECEIVED,
                Step.SIGNED,
                Step.INSTALLATION_SCHEDULED,
                Step.INSTALLED,
                Step.CREDENTIALS_SENT,
                Step.ACTIVE,
            ),
            follows_contract=True,
        ),
    )
}


def definition(kind: ServiceKind | str) -> ServiceDefinition:
    return CATALOGUE[ServiceKind(kind)]
