"""Nothing a blinded role can reach depends on the arm (issue 10 §1), for every protocol that ships.

Two kinds of check, on one study per shipped protocol with one participant in each arm, every
participant taken through the same journey (dosing with the red team's amount probes, vital signs,
an adverse event, a deviation, discontinuation):

- **Differential**: for every blinded role, each page, API response and refusal about one participant
  is compared with the same response about a participant in another arm, after taking out what
  legitimately differs (the participant's code, numbers such as ids and times, CSRF tokens). Any
  other difference is something the arm changed, and the test names it.
- **Search**: the study-wide pages, the whole audit trail (blinded administrators, data managers and
  monitors read it), and every file of a blinded export are searched for arm ids, arm labels, the
  word placebo and arm-specific dose amounts.

The unblinded statistician's view is searched the same way and must find the arm: the test can fail.
"""

from __future__ import annotations

import difflib
import io
import json
import re
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils import timezone

from attune.protocol import Protocol
from attune.protocol.registry import list_protocols
from attune.web.adverse_events.services import record_adverse_event
from attune.web.audit.models import AuditEvent
from attune.web.datasets.exporting import write_export
from attune.web.deviations.services import record_deviation
from attune.web.dosing import services as dosing
from attune.web.dosing.models import Dose
from attune.web.downloads.models import DownloadJob
from attune.web.epro.models import ParticipantLink
from attune.web.errors import InvalidInput, WrongState
from attune.web.fidelity import selectors as fidelity_selectors
from attune.web.fidelity import services as fidelity
from attune.web.forms import services as forms
from attune.web.forms.free_text import save_free_text
from attune.web.kits import services as kits
from attune.web.notifications.models import StudyContact
from attune.web.participants import services as journey
from attune.web.participants.models import Allocation, Participant
from attune.web.solicited import services as solicited
from attune.web.studies.models import Study
from attune.web.studies.roles import Role, reveals_arm
from attune.web.studies.services import add_member, create_study
from attune.web.unblinding import services as unblinding

from .conftest import ELIGIBLE, PASSWORD, enrol_and_take_to_first_session

pytestmark = pytest.mark.django_db
User = get_user_model()
BLINDED_ROLES = [role for role in Role if not reveals_arm(role)]
#: An eligible screening record for each shipped protocol (a new protocol must add one here).
ELIGIBLE_BY_PROTOCOL = {
    "mapp": ELIGIBLE,
    "mapp2": ELIGIBLE | {"caps5_total": 30},  # MAPP2 admits CAPS-5 28-34 too
    "psilocybin_single": {
        "age": 40,
        "caps5_ptsd_diagnosis": True,
        "pcl5_total": 50,
        "psychotic_disorder_personal_or_family": False,
        "bipolar_disorder": False,
        "cssrs_band": "none",
        "serotonergic_medication_washed_out": True,
        "systolic_mmhg": 120,
        "pregnant": False,
    },
}


def _sign_before_dosing(therapist, person: Participant, visit_id: str) -> None:
    protocol = person.study.protocol
    for due in protocol.visit(visit_id).instruments:
        if due.timing != "before":
            continue
        form = forms.open_instrument_form(therapist, person, visit_id, due.instrument)
        answers = {"1": 0, "2": 0, "6": 0} if due.instrument == "cssrs_screen" else {}
        form = forms.save_draft(therapist, form, expected_version=form.version, answers=answers)
        forms.sign(
            therapist, form, expected_version=form.version, password=PASSWORD, meaning="checked"
        )


def _probe_amounts(protocol: Protocol, visit_id: str) -> list[float]:
    """The red team's attack: try every amount the protocol knows, hoping one is refused."""
    assert protocol.dosing is not None
    known = set(protocol.dosing.initial_options)
    for amounts in protocol.dosing.by_arm.values():
        known |= set(amounts)
    if dosing.blinded_amounts(protocol):
        return sorted(known)
    # Nominal amounts are the same in every arm; probe those the session refuses.
    return sorted(known - set(protocol.dosing.sessions[visit_id]))


class Setting:
    """One study of ``protocol_id``, a user per role, one randomised participant per arm."""

    def __init__(self, protocol_id: str) -> None:
        self.study: Study = create_study(
            protocol=protocol_id,
            code=f"leak-{protocol_id}".replace("_", "-"),
            name="Leak check",
            sites=[("s1", "Site One")],
        )
        self.protocol = self.study.protocol
        self.users = {}
        for role in Role:
            user = User.objects.create_user(f"{role.value}-{protocol_id}", password=PASSWORD)
            add_member(None, user, self.study, role, None)
            self.users[role] = user
        self.visit = self.protocol.visits_of("experimental")[0].id
        self.dyad = fidelity.create_dyad(
            self.users[Role.COORDINATOR],
            self.study.sites.get(),
            "s1-D1",
            self.users[Role.THERAPIST],
            self.users[Role.PRINCIPAL_INVESTIGATOR],
        )
        self.probes: dict[str, list[str]] = {}
        self._kits()
        self.people = [self._journey(index, arm.id) for index, arm in enumerate(self.protocol.arms)]

    def _kits(self) -> None:
        """Kits for every participant (generated from the seed, shipped, received), an unblinding
        principal investigator apart from the one whose views are compared, a sponsor contact."""
        site = self.study.sites.get()
        kits.generate_kit_list(self.users[Role.STATISTICIAN], self.study, 16)
        shipment = kits.ship_kits(
            self.users[Role.DATA_MANAGER], site, shipped_on=timezone.localdate(), count=16
        )
        kits.receive_shipment(
            self.users[Role.COORDINATOR],
            shipment,
            received_on=timezone.localdate(),
            condition="intact",
        )
        self.unblinder = User.objects.create_user(
            f"unblinder-{self.protocol.id}", password=PASSWORD
        )
        add_member(None, self.unblinder, self.study, Role.PRINCIPAL_INVESTIGATOR, None)
        StudyContact.objects.create(
            study=self.study, kind="sponsor", name="Sponsor", email="sponsor@example.org"
        )

    def _kit_probes(self, person: Participant, probes: list[str]) -> str:
        """Dispense the session's kit (the page, as the therapist), and try again: the refusal and
        the page read the same in every arm. Returns the kit's number."""
        url = f"/s/{self.study.code}/p/{person.code}/kits/"
        client = self.client(Role.THERAPIST)
        given = client.post(url, {"action": "dispense", "visit_id": self.visit}, follow=True)
        probes.append(given.content.decode())
        try:
            kits.dispense(self.users[Role.THERAPIST], person, self.visit)
        except WrongState as refusal:
            probes.append(str(refusal))
        return person.dispensations.get().kit.number

    def _account_and_unblind(self, person: Participant, kit: str) -> None:
        """The used kit comes back and is destroyed; the participant is unblinded in an emergency
        by the other principal investigator (whose own answer shows the arm, by design)."""
        coordinator = self.users[Role.COORDINATOR]
        kits.return_kit(coordinator, self.study, kit, note="empty")
        kits.destroy_kit(coordinator, self.study, kit, witness="W. Itness")
        unblinding.emergency_unblind(
            self.unblinder, person, reason="Severe hypertension", password=PASSWORD
        )

    def _journey(self, index: int, arm: str) -> Participant:
        coordinator, therapist = self.users[Role.COORDINATOR], self.users[Role.THERAPIST]
        today = timezone.localdate()
        site = self.study.sites.get()
        person = journey.start_screening(coordinator, site, f"S1-{101 + index}", today)
        eligible = ELIGIBLE_BY_PROTOCOL.get(self.protocol.id)
        assert eligible is not None, f"add an eligible screening record for {self.protocol.id}"
        assert journey.record_screening(coordinator, person, eligible).verdict == "eligible"
        strata = {f: "no" for f in self.protocol.stratification if f != "site"}
        enrol_and_take_to_first_session(coordinator, self.users[Role.RATER], person, strata)
        Allocation.objects.filter(participant=person).update(arm=arm)  # one participant per arm
        person.refresh_from_db()
        probes: list[str] = []
        kit = self._kit_probes(person, probes)
        journey.record_visit(coordinator, person, self.visit, today, reason="leak check")
        _sign_before_dosing(therapist, person, self.visit)
        dosed_at = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=3)
        dosing.record_vitals(
            therapist,
            person,
            self.visit,
            dosed_at - timedelta(minutes=15),
            systolic=120,
            diastolic=80,
            pulse=70,
            temperature=36.8,
        )
        # The red team's attack, through the service and through the page: try every amount the
        # protocol knows. What comes back is compared across arms.
        for amount in _probe_amounts(self.protocol, self.visit):
            try:
                dosing.record_initial_dose(
                    therapist, person, self.visit, kit="K-9", given_at=dosed_at, amount=amount
                )
                probes.append("recorded")
            except (InvalidInput, WrongState) as refusal:
                probes.append(str(refusal))
        client = self.client(Role.THERAPIST)
        url = f"/s/{self.study.code}/p/{person.code}/sessions/{self.visit}/"
        time = timezone.localtime(dosed_at).strftime("%Y-%m-%dT%H:%M")
        for amount in _probe_amounts(self.protocol, self.visit):
            page = client.post(
                url, {"action": "dose", "amount": f"{amount:g}", "kit": "K-9", "time": time}
            )
            probes.append(f"{page.status_code} {page.get('Location', '')}")
            probes.append(client.get(url).content.decode())
        self.probes[person.code] = probes
        if not Dose.objects.filter(participant=person, visit_id=self.visit).exists():
            chosen = None
            if not dosing.blinded_amounts(self.protocol):
                assert self.protocol.dosing is not None
                chosen = self.protocol.dosing.sessions[self.visit][0]
            dosing.record_initial_dose(
                therapist, person, self.visit, kit=kit, given_at=dosed_at, amount=chosen
            )
        dosing.record_vitals(
            therapist,
            person,
            self.visit,
            dosed_at + timedelta(minutes=30),
            systolic=130,
            diastolic=85,
            pulse=80,
            temperature=37.0,
        )
        record_adverse_event(
            therapist,
            person,
            term="Headache",
            onset_date=today,
            severity="mild",
            visit_id=self.visit,
        )
        self._checklist(person, probes)
        record_deviation(
            coordinator, person, visit_id=self.visit, kind="other", description="Late start"
        )
        self._fidelity(person)
        self._guess(person)
        self._account_and_unblind(person, kit)
        journey.discontinue(
            coordinator,
            person,
            today,
            "Headaches",
            last_visit_id=self.visit,
            category="adverse_event",
        )
        person.refresh_from_db()
        return person

    def _checklist(self, person: Participant, probes: list[str]) -> None:
        """The solicited-AE checklist, answered the same in every arm: closing before it, a refused
        (incomplete) page post and the page itself are compared across arms like the dose probes."""
        therapist = self.users[Role.THERAPIST]
        checklist = self.protocol.solicited_adverse_events
        if checklist is None:
            return
        try:
            solicited.close_session(therapist, person, self.visit)
        except WrongState as refusal:
            probes.append(str(refusal))
        url = f"/s/{self.study.code}/p/{person.code}/checklist/{self.visit}/"
        client = self.client(Role.THERAPIST)
        probes.append(client.get(url).content.decode())  # blank form: no default, protocol order
        incomplete = {f"answer_{checklist.terms[0].id}": "present"}
        probes.append(client.post(url, incomplete).content.decode())
        answers = {t.id: "absent" for t in checklist.terms}
        answers[checklist.terms[0].id] = "present"
        solicited.record_checklist(
            therapist, person, self.visit, answers, {checklist.terms[0].id: "mild"}
        )
        solicited.close_session(therapist, person, self.visit)

    def _fidelity(self, person: Participant) -> None:
        """The dyad, a registered recording, presence with a gap (an alert and a deviation), and a
        concern sent through the service (a stored private link would show on the participant's
        page with an id of its own; the link page is tested in test_fidelity.py). The adherence
        rating of the sampled session is made in the study-wide test: which session is sampled
        depends on the seed, not the arm, and the differential check would see it."""
        coordinator = self.users[Role.COORDINATOR]
        fidelity.assign_dyad(coordinator, person, self.dyad)
        fidelity.register_recording(
            self.users[Role.THERAPIST],
            person,
            visit_id=self.visit,
            file_name=f"{person.code}.mp4",
            sha256="ab" * 32,
            duration_minutes=480,
            location="s3://leak-check/recordings/",
        )
        fidelity.attest_presence(self.users[Role.THERAPIST], person, self.visit, whole_session=True)
        fidelity.attest_presence(
            self.users[Role.PRINCIPAL_INVESTIGATOR],
            person,
            self.visit,
            whole_session=False,
            absences=[("14:00", "14:20")],
        )
        fidelity.send_concern(
            ParticipantLink(participant=person, token_hash="0" * 64),
            "The room was cold.",
            wants_contact=False,
        )

    def _guess(self, person: Participant) -> None:
        """Every respondent of the treatment guess at the session answers and signs it, the same
        way in every arm (with an answer in words): their forms must read the same in each arm."""
        who = {
            "participant": Role.COORDINATOR,  # entered from paper; the link is tested elsewhere
            "therapist": Role.THERAPIST,
            "rater": Role.RATER,
        }
        for due in self.protocol.visit(self.visit).instruments:
            if due.instrument != "arm_guess":
                continue
            user = self.users[who[due.by]]
            form = forms.save_instrument_draft(
                user,
                person,
                self.visit,
                "arm_guess",
                expected_version=1,
                answers={"1": 1, "2": 5},
                by=due.by,
            )
            form = save_free_text(user, form, "Strong effects within the hour")
            forms.sign(user, form, expected_version=form.version, password=PASSWORD, meaning="mine")

    def client(self, role: Role) -> Client:
        client = Client()
        client.force_login(self.users[role])
        return client

    def participant_urls(self, person: Participant) -> list[str]:
        s, c = self.study.code, person.code
        pages = [
            f"/s/{s}/p/{c}/",
            f"/s/{s}/p/{c}/events/",
            f"/s/{s}/audit/?participant={c}",
            f"/s/{s}/queries/?participant={c}",
            *(f"/s/{s}/p/{c}/sessions/{v.id}/" for v in self.protocol.visits_of("experimental")),
            *(
                f"/s/{s}/p/{c}/sessions/{v.id}/live/"
                for v in self.protocol.visits_of("experimental")
            ),
            *(
                f"/s/{s}/p/{c}/forms/{self.visit}/{due.instrument}/"
                for due in self.protocol.visit(self.visit).instruments
            ),
            *(f"/s/{s}/p/{c}/checklist/{v}/" for v in solicited.checklist_visits(self.protocol)),
            *(
                f"/s/{s}/p/{c}/sessions/{v.id}/conduct/"
                for v in self.protocol.visits_of("experimental")
            ),
            # the treatment guess: every respondent's form at every visit it is due
            *(
                f"/s/{s}/p/{c}/forms/{v.id}/{due.instrument}/?by={due.by}"
                for v in self.protocol.visits
                for due in v.instruments
                if due.instrument == "arm_guess"
            ),
            # kits and emergency unblinding
            f"/s/{s}/p/{c}/kits/",
            f"/s/{s}/p/{c}/unblinding/",
        ]
        api = [
            f"/api/studies/{s}/participants/{c}",
            f"/api/studies/{s}/participants/{c}/forms",
            f"/api/studies/{s}/participants/{c}/allocation",
            f"/api/studies/{s}/participants/{c}/adverse-events",
            f"/api/studies/{s}/participants/{c}/deviations",
            f"/api/studies/{s}/participants/{c}/recordings",
            f"/api/studies/{s}/participants/{c}/sessions/{self.visit}/presence",
            f"/api/studies/{s}/queries?participant={c}",  # data queries (rules never read the arm)
            f"/api/studies/{s}/participants/{c}/verifications",
            # kits and emergency unblinding
            f"/api/studies/{s}/participants/{c}/kits",
            f"/api/studies/{s}/participants/{c}/emergency-unblindings",
        ]
        return pages + api

    def forbidden(self) -> list[re.Pattern[str]]:
        """What would name an arm: ids, labels, 'placebo', arm-specific amounts with the unit."""
        words = {arm.id for arm in self.protocol.arms} | {arm.label for arm in self.protocol.arms}
        words.add("placebo")
        patterns = [re.compile(rf"(?<![\w-]){re.escape(w)}(?![\w-])", re.I) for w in words]
        dosing_rules = self.protocol.dosing
        if dosing_rules and dosing_rules.by_arm:
            amounts = {a for amounts in dosing_rules.by_arm.values() for a in amounts}
            for amount in amounts:
                patterns.append(
                    re.compile(rf"(?<![\d.]){amount:g}(\.0+)?\s*{dosing_rules.unit}\b", re.I)
                )
                patterns.append(re.compile(rf'"amount":\s*{amount:g}(\.0+)?\b'))
        return patterns


def _normalised(text: str, person: Participant) -> str:
    text = text.replace(person.code, "CODE")
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", text)
    text = re.sub(r'nonce="[^"]*"', "", text)
    return re.sub(r"\d+", "N", text)


def _difference(a: str, b: str) -> str:
    return "\n".join(list(difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm=""))[:40])


def _found(patterns: list[re.Pattern[str]], text: str) -> list[str]:
    return sorted({m.group(0) for p in patterns for m in p.finditer(text)})


@pytest.fixture(scope="module", params=[p.id for p in list_protocols()])
def protocol_id(request):
    return request.param


@pytest.fixture
def setting(protocol_id):
    return Setting(protocol_id)


@pytest.mark.slow
def test_no_response_to_a_blinded_role_depends_on_the_arm(setting):
    first, *others = setting.people
    assert others, "a protocol with one arm has nothing to compare"
    assert len({Allocation.objects.get(participant=p).arm for p in setting.people}) == len(
        setting.people
    )
    patterns = setting.forbidden()
    for role in BLINDED_ROLES:
        client = setting.client(role)
        for url in setting.participant_urls(first):
            reference = client.get(url)
            reference_text = _normalised(reference.content.decode(), first)
            assert not _found(patterns, reference.content.decode()), (role, url)
            for other in others:
                other_url = url.replace(first.code, other.code)
                response = client.get(other_url)
                assert response.status_code == reference.status_code, (role, other_url)
                text = _normalised(response.content.decode(), other)
                assert text == reference_text, (
                    f"{role.value} sees {other_url} differently from {url}:\n"
                    + _difference(reference_text, text)
                )
    # The red team's dose probes: every refusal reads the same in every arm.
    reference_probes = [_normalised(t, first) for t in setting.probes[first.code]]
    for other in others:
        assert [_normalised(t, other) for t in setting.probes[other.code]] == reference_probes


@pytest.mark.slow
def test_study_pages_audit_trail_and_blinded_export_name_no_arm(setting, tmp_path: Path):
    patterns = setting.forbidden()
    s = setting.study.code
    for person in setting.people:
        if fidelity_selectors.in_sample(person, setting.visit):
            answers = {str(n): 2 for n in range(1, 11)}
            rater = setting.users[Role.ADHERENCE_RATER]
            fidelity.rate_adherence(rater, person, setting.visit, answers)
    # a count that does not match the register: the discrepancy alert (pages, trail, e-mail)
    kits.reconcile(setting.users[Role.COORDINATOR], setting.study.sites.get(), counted=0)

    for role in BLINDED_ROLES:
        client = setting.client(role)
        for url in (
            f"/s/{s}/",
            f"/s/{s}/audit/",
            f"/s/{s}/audit/csv/",
            f"/s/{s}/downloads/",
            f"/api/studies/{s}/participants",
            # therapist fidelity: the adherence worklist, the dyads, the ethics contact's concerns
            f"/s/{s}/adherence/",
            f"/s/{s}/dyads/",
            f"/s/{s}/concerns/",
            f"/api/studies/{s}/adherence/worklist",
            # kits and drug accountability (the statistician's kit list is unblinded: not here)
            f"/s/{s}/kits/",
            f"/s/{s}/accountability/s1/",
            f"/s/{s}/accountability/s1/csv/",
            f"/api/studies/{s}/shipments",
            f"/api/studies/{s}/sites/s1/accountability",
            *(
                f"/s/{s}/adherence/{p.code}/{setting.visit}/"
                for p in setting.people
                if fidelity_selectors.in_sample(p, setting.visit)
            ),
        ):
            text = _body(client.get(url)).decode()
            assert not _found(patterns, text), (role, url, _found(patterns, text))
    trail = json.dumps(
        [
            [e.actor, e.action, e.model, e.object_id, e.changes, e.reason]
            for e in AuditEvent.objects.filter(study=s)
        ]
    )
    assert not _found(patterns, trail), _found(patterns, trail)
    # the sponsor's e-mails about the emergency unblindings say who, when and why, not the arm
    sent = "".join(m.subject + m.body for m in mail.outbox)
    assert "Severe hypertension" in sent and not _found(patterns, sent), _found(patterns, sent)
    write_export(setting.users[Role.DATA_MANAGER], setting.study, tmp_path / "blinded")
    for path in sorted((tmp_path / "blinded").iterdir()):
        text = path.read_text()
        assert not _found(patterns, text), (path.name, _found(patterns, text))
    events = (tmp_path / "blinded" / "adverse_events.csv").read_text().splitlines()
    assert "solicited" in events[0].split(","), events[0]  # solicited / spontaneous, in every arm
    doses = (tmp_path / "blinded" / "doses.csv").read_text().splitlines()
    assert len(doses) > 1 and "amount" not in doses[0].split(","), doses[0]
    # The same search finds the arm where it may be seen: the unblinded export.
    write_export(setting.users[Role.STATISTICIAN], setting.study, tmp_path / "unblinded")
    unblinded = "".join(p.read_text() for p in (tmp_path / "unblinded").iterdir())
    assert _found(patterns, unblinded)


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _downloads(setting: Setting, role: Role, actions=("export", "report")) -> dict[str, str]:
    """Every readable file of the export and the report ``role`` downloads (zip members too; the
    PNG images and the PDF, whose text is compressed, are drawn from the same report as the HTML
    and the SVG figures searched here)."""
    client = setting.client(role)
    texts: dict[str, str] = {}
    for action in actions:
        asked = client.post(f"/s/{setting.study.code}/downloads/", {"action": action})
        assert asked.status_code == 302, (role, action)
        job = DownloadJob.objects.filter(requested_by=setting.users[role]).first()
        assert job is not None and job.status == "done", (role, action, job and job.error)
        for name in job.files:
            body = _body(client.get(f"{asked['Location']}{name}"))
            if name.endswith(".zip"):
                archive = zipfile.ZipFile(io.BytesIO(body))
                for member in archive.namelist():
                    if member.endswith((".csv", ".json", ".svg", ".html")):
                        texts[member] = archive.read(member).decode()
            elif name.endswith(".html"):
                texts[name] = body.decode()
            elif name.endswith(".pdf"):
                assert body.startswith(b"%PDF")
    return texts


@pytest.mark.slow
def test_a_blinded_roles_downloads_name_no_arm(setting):
    """The export zip and the report (HTML, figures) a data manager downloads in the browser."""
    patterns = setting.forbidden()
    texts = _downloads(setting, Role.DATA_MANAGER)
    assert any(name.endswith("participants.csv") for name in texts)
    assert any(name.endswith(".svg") for name in texts)  # the figures a small study has
    for name, text in texts.items():
        assert not _found(patterns, text), (name, _found(patterns, text))
    # The same search finds the arm in the unblinded statistician's export.
    unblinded = _downloads(setting, Role.STATISTICIAN, actions=("export",))
    assert _found(patterns, "".join(unblinded.values()))


def test_the_search_finds_an_arm_where_it_is_shown(setting):
    """The statistician sees the allocation: the patterns must match it (the test can fail)."""
    person = setting.people[0]
    response = setting.client(Role.STATISTICIAN).get(
        f"/api/studies/{setting.study.code}/participants/{person.code}/allocation"
    )
    assert _found(setting.forbidden(), response.content.decode())
    # the kit list, kit number -> arm, is the statistician's too
    kit_list = setting.client(Role.STATISTICIAN).get(f"/s/{setting.study.code}/kits/")
    assert _found(setting.forbidden(), kit_list.content.decode())


def test_raters_see_only_that_a_participant_discontinued(setting):
    """The red team's finding: raters read the discontinuation reason "adverse event"."""
    person = setting.people[0]
    url = f"/s/{setting.study.code}/p/{person.code}/"
    rater = setting.client(Role.RATER).get(url).content.decode()
    coordinator = setting.client(Role.COORDINATOR).get(url).content.decode()
    assert "Discontinued on" in rater and "Discontinued on" in coordinator
    for told in ("adverse event", "Headaches"):
        assert told in coordinator
        assert told not in rater
