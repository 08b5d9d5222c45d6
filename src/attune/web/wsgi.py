"""WSGI entry point (``attune serve`` and production servers)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attune.web.settings")
application = get_wsgi_application()
