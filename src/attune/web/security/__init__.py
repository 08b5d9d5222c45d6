"""The web platform's security measures that are not one app's business.

Password strength (:mod:`.passwords`), the login lockout that also guards electronic signatures
(:mod:`.lockout`), response headers (:mod:`.headers`), redaction of participant link tokens in the
server logs (:mod:`.logs`) and the admin site behind a second factor (:mod:`.apps`). It is listed
first in ``INSTALLED_APPS`` so its management commands (``createsuperuser``) replace Django's.
"""
