"""No copy of a clinical page or API answer is kept by a browser or a proxy.

Every response except the static files (served before this middleware: by WhiteNoise in
production) is marked ``Cache-Control: no-store`` (with Django's other never-cache headers), so
the back button on a shared ward computer, a browser cache or a caching proxy never shows
participant data to the next person. The Content-Security-Policy comes from django-csp (settings
``CONTENT_SECURITY_POLICY``), HSTS from Django's ``SecurityMiddleware``.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import add_never_cache_headers


class NoStoreMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if request.path.startswith("/" + str(settings.STATIC_URL).lstrip("/")):
            return response
        if "no-store" not in response.get("Cache-Control", ""):  # a view's own no-store stays
            add_never_cache_headers(response)
        return response
