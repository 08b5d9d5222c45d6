"""E-mail notifications, sent by the background worker (django-tasks): ePRO reminders, critical
alerts to the on-call contacts, overdue SAE reports, query digests, emergency unblindings.

Services call :func:`attune.web.notifications.services.notify` (to addresses) or
:func:`~attune.web.notifications.services.notify_contacts` (to a study's contacts of a kind);
neither sends inside the request. Jobs that run on a schedule (nightly, weekly) are
registered with :func:`attune.web.notifications.periodic.periodic` in a module ``periodic.py`` of
their app.
"""
