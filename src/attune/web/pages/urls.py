from django.urls import path

from attune.web.pages import checklist, downloads, events, fidelity, kits, members, session, views
from attune.web.pages import coding as coding_pages
from attune.web.pages import consent as consent_pages
from attune.web.pages import locks as lock_pages
from attune.web.pages import medications as medication_pages
from attune.web.pages import notifications as notification_pages
from attune.web.pages.queries import urlpatterns as query_urls

app_name = "pages"
urlpatterns = [
    path("", views.home, name="home"),
    path("s/<slug:study>/", views.study, name="study"),
    path("s/<slug:study>/audit/", views.audit_trail, name="audit"),
    path("s/<slug:study>/audit/csv/", downloads.audit_csv, name="audit_csv"),
    path("s/<slug:study>/report/", downloads.report, name="report"),
    path("s/<slug:study>/downloads/", downloads.downloads, name="downloads"),
    path("s/<slug:study>/downloads/<uuid:job>/", downloads.job, name="download_job"),
    path(
        "s/<slug:study>/downloads/<uuid:job>/<str:name>",
        downloads.job_file,
        name="download_file",
    ),
    path("s/<slug:study>/members/", members.members, name="members"),
    path("s/<slug:study>/p/<str:code>/", views.participant, name="participant"),
    path(
        "s/<slug:study>/p/<str:code>/forms/<str:visit>/<str:instrument>/", views.form, name="form"
    ),
    path("s/<slug:study>/p/<str:code>/sessions/<str:visit>/", session.monitor, name="session"),
    path(
        "s/<slug:study>/p/<str:code>/sessions/<str:visit>/live/",
        session.live,
        name="session_live",
    ),
    path("s/<slug:study>/p/<str:code>/events/", events.events, name="events"),
    path(
        "s/<slug:study>/p/<str:code>/checklist/<str:visit>/", checklist.checklist, name="checklist"
    ),
    # therapist fidelity and conduct
    path("s/<slug:study>/dyads/", fidelity.dyads, name="fidelity_dyads"),
    path(
        "s/<slug:study>/p/<str:code>/sessions/<str:visit>/conduct/",
        fidelity.session,
        name="fidelity_session",
    ),
    path("s/<slug:study>/adherence/", fidelity.worklist, name="adherence"),
    path("s/<slug:study>/adherence/<str:code>/<str:visit>/", fidelity.rate, name="adherence_rate"),
    path("s/<slug:study>/concerns/", fidelity.concerns, name="concerns"),
    # concomitant medications and coding (issue 13)
    path(
        "s/<slug:study>/p/<str:code>/medications/",
        medication_pages.medications,
        name="medications",
    ),
    path("s/<slug:study>/coding/", coding_pages.worklist, name="coding"),
    # notifications: contacts and failed sends; a participant's e-mail reminders
    path(
        "s/<slug:study>/notifications/",
        notification_pages.notifications,
        name="notifications",
    ),
    path(
        "s/<slug:study>/p/<str:code>/reminders/",
        notification_pages.participant_email,
        name="participant_email",
    ),
    # locks and consent
    path("s/<slug:study>/locks/", lock_pages.study_locks, name="locks"),
    path(
        "s/<slug:study>/p/<str:code>/locks/", lock_pages.participant_locks, name="participant_locks"
    ),
    path("s/<slug:study>/consent/", consent_pages.documents, name="consent_documents"),
    path(
        "s/<slug:study>/consent/v<int:version>.pdf",
        consent_pages.document_pdf,
        name="consent_document_pdf",
    ),
    path(
        "s/<slug:study>/p/<str:code>/consent/",
        consent_pages.participant_consent,
        name="participant_consent",
    ),
    path(
        "s/<slug:study>/p/<str:code>/consent/<int:record>.pdf",
        consent_pages.signed_copy,
        name="consent_copy",
    ),
    # kits of study drug, drug accountability, emergency unblinding
    path("s/<slug:study>/kits/", kits.overview, name="kits"),
    path("s/<slug:study>/accountability/<str:site>/", kits.accountability, name="accountability"),
    path(
        "s/<slug:study>/accountability/<str:site>/csv/",
        kits.accountability_csv,
        name="accountability_csv",
    ),
    path("s/<slug:study>/p/<str:code>/kits/", kits.participant_kits, name="participant_kits"),
    path(
        "s/<slug:study>/p/<str:code>/unblinding/",
        kits.emergency_unblinding,
        name="unblinding",
    ),
]
urlpatterns += query_urls  # data queries and source data verification
