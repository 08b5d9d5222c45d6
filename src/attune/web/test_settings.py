"""Settings for the test suite: the real settings, with a throw-away secret and a fast password hasher.

The database comes from ``ATTUNE_DATABASE_URL`` as in production, so the same tests run on SQLite
(default) and on PostgreSQL (``scripts/test`` runs both).
"""

import os
import tempfile

os.environ.setdefault("ATTUNE_SECRET_KEY", "insecure-key-for-tests-only")
# The audit chain's HMAC key (production: from the environment or a key file, never the database).
os.environ.setdefault("ATTUNE_AUDIT_KEY", "insecure-audit-key-for-tests-only-0123456789")
os.environ.setdefault("ATTUNE_DATA_DIR", tempfile.mkdtemp(prefix="attune-test-"))

from attune.web.settings import *  # noqa: F403

# Argon2 is deliberately slow; the production hasher is checked by its own test.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Throttling needs a request object on every authenticate(); its own test switches it back on.
AXES_ENABLED = False
# Background tasks run at once, inside the request that queues them (one test runs the database
# backend with a real `attune worker` process: tests/web/test_downloads_worker.py).
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
