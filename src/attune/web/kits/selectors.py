"""Reading kits and the accountability register: what each role may see, and never an arm.

Everything here names kits by number. The arm is read in one place only, :func:`kit_list_with_arms`,
which requires ``manage_kit_list`` (the unblinded statistician).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db.models import QuerySet

from attune.web.errors import NotAllowed
from attune.web.kits.models import (
    DiscrepancyAlert,
    Dispensation,
    Kit,
    KitStatus,
    LedgerEntry,
    Movement,
    Reconciliation,
    Shipment,
)
from attune.web.participants.models import Participant
from attune.web.studies.access import User, access
from attune.web.studies.models import Site, Study
from attune.web.studies.roles import Capability

C = Capability


@dataclass(frozen=True)
class Balance:
    """A site's kits by movement, from its register; ``on_hand`` is what the pharmacy holds."""

    received: int
    quarantined: int
    dispensed: int
    administered: int
    returned: int
    destroyed: int

    @property
    def on_hand(self) -> int:
        return self.received - self.dispensed + self.returned - self.destroyed

    @property
    def outstanding(self) -> int:
        """Dispensed and not yet back in the pharmacy."""
        return self.dispensed - self.returned

    def as_dict(self) -> dict[str, int]:
        return {
            "received": self.received,
            "quarantined": self.quarantined,
            "dispensed": self.dispensed,
            "administered": self.administered,
            "returned": self.returned,
            "destroyed": self.destroyed,
            "on_hand": self.on_hand,
            "outstanding": self.outstanding,
        }


def balance(site: Site) -> Balance:
    counts = Counter(LedgerEntry.objects.filter(site=site).values_list("movement", flat=True))
    return Balance(
        received=counts[Movement.RECEIVED],
        quarantined=counts[Movement.QUARANTINED],
        dispensed=counts[Movement.DISPENSED],
        administered=counts[Movement.ADMINISTERED],
        returned=counts[Movement.RETURNED],
        destroyed=counts[Movement.DESTROYED],
    )


def accountability_sites(user: User, study: Study, capability: Capability) -> list[Site]:
    """The sites where ``user`` holds ``capability``, in code order."""
    here = access(user, study)
    return [s for s in here.visible_sites().order_by("code") if here.can(capability, s)]


def readable_site(user: User, study: Study, code: str) -> Site:
    """The site ``code`` if the user reads its register; the same refusal when it does not exist."""
    for site in accountability_sites(user, study, C.READ_ACCOUNTABILITY):
        if site.code == code:
            return site
    raise NotAllowed(f"no site {code[:40]} whose drug accountability you may read")


def register(site: Site) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(site=site).select_related("kit", "participant", "recorded_by")


def site_kits(site: Site) -> QuerySet[Kit]:
    """The kits sent to a site (numbers and states; the arm column is not selected)."""
    return Kit.objects.filter(site=site).only("number", "status", "position", "shipment_id")


def shipments(user: User, study: Study) -> QuerySet[Shipment]:
    sites = {s.pk for s in accountability_sites(user, study, C.READ_ACCOUNTABILITY)}
    sites |= {s.pk for s in accountability_sites(user, study, C.SHIP_KITS)}
    return (
        Shipment.objects.filter(study=study, site_id__in=sites)
        .select_related("site", "shipped_by", "received_by")
        .order_by("-shipped_on", "-pk")
    )


def reconciliations(site: Site) -> QuerySet[Reconciliation]:
    return Reconciliation.objects.filter(site=site).select_related("counted_by")


def open_alerts(site: Site) -> QuerySet[DiscrepancyAlert]:
    return DiscrepancyAlert.objects.filter(site=site, resolved_at__isnull=True)


def alerts(site: Site) -> QuerySet[DiscrepancyAlert]:
    return DiscrepancyAlert.objects.filter(site=site).select_related("resolved_by")


def depot_count(study: Study) -> int:
    return Kit.objects.filter(study=study, status=KitStatus.AT_DEPOT).count()


def dispensations_of(participant: Participant) -> QuerySet[Dispensation]:
    return Dispensation.objects.filter(participant=participant).select_related(
        "kit", "dispensed_by"
    )


def kit_list_with_arms(user: User, study: Study) -> QuerySet[Kit]:
    """The whole list with arms: only for the unblinded statistician."""
    if not access(user, study).can(C.MANAGE_KIT_LIST):
        raise NotAllowed("the kit list with its arms is for the unblinded statistician only")
    return Kit.objects.filter(study=study).select_related("site", "shipment")


def may_read_kits(user: User, participant: Participant) -> bool:
    here = access(user, participant.study)
    return here.can(C.DISPENSE_KITS, participant.site) or here.can(
        C.READ_ACCOUNTABILITY, participant.site
    )


def require_kit_reader(user: User, participant: Participant) -> None:
    """Who sees a participant's kits: those who dispense them and those who account for them."""
    if not may_read_kits(user, participant):
        raise NotAllowed("your role does not read the kits dispensed to participants")
