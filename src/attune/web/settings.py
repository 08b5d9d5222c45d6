"""Django settings, all from the environment so one code base serves a laptop and a multi-site server.

- ``ATTUNE_DATABASE_URL``: e.g. ``postgres://user@127.0.0.1:5432/attune``; default SQLite in the data folder.
- ``ATTUNE_DATA_DIR``: where the SQLite database and the generated secret key live (default ``./.attune``).
- ``ATTUNE_SECRET_KEY``: the secret key; generated once into the data folder when not given.
- ``ATTUNE_DEBUG``: ``1`` for development only.
- ``ATTUNE_ALLOWED_HOSTS``: comma separated (default ``localhost,127.0.0.1``).
- ``ATTUNE_SECURE``: ``1`` behind HTTPS (production), to send cookies for HTTPS only and HSTS
  (with ``includeSubDomains``).
- ``ATTUNE_DATA_DIR`` also holds the files of exports and reports made for download
  (``downloads/``): the web server and ``attune worker`` must share it.
- ``ATTUNE_SERVE_STATIC``: ``1`` to serve the collected static files with WhiteNoise (set by
  ``attune serve --production``).
- ``ATTUNE_EMAIL_HOST``, ``ATTUNE_EMAIL_PORT``, ``ATTUNE_EMAIL_USER``, ``ATTUNE_EMAIL_PASSWORD``,
  ``ATTUNE_EMAIL_USE_TLS`` / ``ATTUNE_EMAIL_USE_SSL`` (``1``), ``ATTUNE_EMAIL_FROM``: the mail server
  notifications go through (``attune worker`` sends them); without a host, mail is printed to the
  worker's console. ``ATTUNE_EMAIL_ATTEMPTS`` (default 5) and ``ATTUNE_EMAIL_RETRY_SECONDS``
  (default 60, the first wait; each next is four times longer) say how a failed send is retried.
  ``ATTUNE_SITE_URL`` (e.g. ``https://attune.example.org``) makes the links in e-mails absolute.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

DATA_DIR = Path(os.environ.get("ATTUNE_DATA_DIR", ".attune")).resolve()


def _secret_key() -> str:
    if key := os.environ.get("ATTUNE_SECRET_KEY"):
        return key
    path = DATA_DIR / "secret_key"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("ATTUNE_DEBUG") == "1"
ALLOWED_HOSTS = os.environ.get("ATTUNE_ALLOWED_HOSTS", "localhost,127.0.0.1,testserver").split(",")
SECURE = os.environ.get("ATTUNE_SECURE") == "1"

INSTALLED_APPS = [
    "attune.web.security",  # first: its createsuperuser replaces Django's
    "attune.web.security.apps.OTPAdminConfig",  # the admin site, behind a second factor
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "ninja",  # the API docs from its own static files (else from a CDN, which the CSP refuses)
    "django_otp",
    "django_otp.plugins.otp_totp",
    "attune.web.audit",
    "attune.web.studies",
    "attune.web.participants",
    "attune.web.forms",
    "attune.web.epro",
    "attune.web.alerts",
    "attune.web.dosing",
    "attune.web.adverse_events",
    "attune.web.solicited",
    "attune.web.deviations",
    "attune.web.fidelity",
    "attune.web.downloads",
    "attune.web.notifications",
    "attune.web.queries",
    "attune.web.verification",
    "attune.web.medications",  # concomitant medications and the taper before dosing
    "attune.web.coding",  # MedDRA and drug-dictionary coding of terms
    "attune.web.locks",
    "attune.web.consent",
    "attune.web.kits",  # kits of study drug and their accountability
    "attune.web.unblinding",  # emergency unblinding by the principal investigator
    "attune.web.pages",
    "django_tasks",
    "django_tasks_db",  # the task queue's table: exports and reports built by `attune worker`
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # (WhiteNoise goes here in production: static files are answered before the two below.)
    "attune.web.security.headers.NoStoreMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "attune.web.studies.access.AccessPerRequest",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    # last, so every response above still gets its headers: a NUL or lone surrogate is a 400
    "attune.web.middleware.RefuseUnreadableInput",
]

# Background tasks (django-tasks): the exports and reports people download are built by a worker
# process (`attune worker`, which `attune serve` and `attune demo` start), queued in the database,
# so the same setup works on the embedded SQLite and on PostgreSQL.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

ROOT_URLCONF = "attune.web.urls"
WSGI_APPLICATION = "attune.web.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

if "ATTUNE_DATABASE_URL" not in os.environ:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("ATTUNE_DATABASE_URL", f"sqlite:///{DATA_DIR / 'attune.sqlite3'}"),
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Take the write lock when a transaction starts, so the audit chain and randomisation lists
    # are extended by one writer at a time (PostgreSQL uses row and table locks instead).
    DATABASES["default"].setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # login throttling first: a locked-out user never reaches the rest
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Repeats, keyboard walks and common words with digits or symbols added (``Password123!``).
    {"NAME": "attune.web.security.passwords.GuessabilityValidator", "OPTIONS": {"min_score": 3}},
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Signing re-enters the password and counts toward the same lockout (attune.web.security.lockout);
# a locked-out request gets a 403 that says why and for how long, in the page or the API.
AXES_LOCKOUT_CALLABLE = "attune.web.security.lockout.lockout_response"

# Sessions end after 30 minutes without activity and when the browser closes.
SESSION_COOKIE_AGE = 30 * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE
SECURE_SSL_REDIRECT = SECURE
SECURE_HSTS_SECONDS = 31536000 if SECURE else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# No inline script anywhere (pages, ePRO, API docs, report, error pages): scripts only from this
# site's static files. Inline styles stay allowed (the pages' and the report's <style> blocks and
# style attributes, e.g. in the inline SVG charts); they cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_TZ = True
USE_I18N = True
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
# Static files (admin, API docs) in production: ``attune serve --production`` collects them into
# STATIC_ROOT and sets ATTUNE_SERVE_STATIC=1, so WhiteNoise serves them (compressed, with caching
# headers) from the WSGI server without DEBUG. The development server and the tests go without it.
SERVE_STATIC = os.environ.get("ATTUNE_SERVE_STATIC") == "1"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
if SERVE_STATIC:
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
        "whitenoise.middleware.WhiteNoiseMiddleware",
    )
LOGIN_URL = "/login/"
OTP_TOTP_ISSUER = "Attune"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

# E-mail (notifications: attune.web.notifications), sent by `attune worker`, never in a request.
EMAIL_HOST = os.environ.get("ATTUNE_EMAIL_HOST", "")
EMAIL_USE_TLS = os.environ.get("ATTUNE_EMAIL_USE_TLS") == "1"
EMAIL_USE_SSL = os.environ.get("ATTUNE_EMAIL_USE_SSL") == "1"
EMAIL_PORT = int(
    os.environ.get("ATTUNE_EMAIL_PORT") or (465 if EMAIL_USE_SSL else 587 if EMAIL_USE_TLS else 25)
)
EMAIL_HOST_USER = os.environ.get("ATTUNE_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("ATTUNE_EMAIL_PASSWORD", "")
EMAIL_TIMEOUT = (
    20  # seconds: a silent server fails the try (and it is retried), never hangs the worker
)
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"  # no server configured: printed
)
DEFAULT_FROM_EMAIL = SERVER_EMAIL = os.environ.get("ATTUNE_EMAIL_FROM", "attune@localhost")
ATTUNE_EMAIL_ATTEMPTS = int(os.environ.get("ATTUNE_EMAIL_ATTEMPTS") or 5)
ATTUNE_EMAIL_RETRY_SECONDS = float(os.environ.get("ATTUNE_EMAIL_RETRY_SECONDS") or 60)
ATTUNE_SITE_URL = os.environ.get("ATTUNE_SITE_URL", "")
