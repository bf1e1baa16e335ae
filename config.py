"""Settings for every environment, read from environment variables.

With no environment variables at all the system runs on embedded defaults: a SQLite file,
Celery on the filesystem transport and email written as ``.eml`` files, all under
``instance/``. Setting ``DATABASE_URL``, ``REDIS_URL``, ``SECRET_KEY`` and the ``SMTP_*``
variables switches to the real services. ``ProductionConfig`` refuses to start without a real
secret key.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_DIR", BASE_DIR / "instance"))


class ConfigError(RuntimeError):
    """Raised when a configuration cannot be used safely."""


def database_url(raw: str | None) -> str:
    """Return a SQLAlchemy URL, choosing psycopg 3 for plain ``postgresql://`` URLs."""
    if not raw:
        return f"sqlite:///{INSTANCE_DIR / 'backoffice.sqlite3'}"
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def celery_settings(redis_url: str | None, instance_dir: Path) -> dict:
    """Celery settings: Redis when configured, otherwise the embedded filesystem broker."""
    common = {
        # Reminders are rows in the database and every task is a sweep that the next beat
        # tick redoes, so a message lost with its worker costs nothing: tasks are
        # acknowledged when they start. Late acknowledgement killed the worker instead: a
        # busy worker that loses Redis holds an unacknowledged message, and kombu's restore
        # of it on reconnect raised AttributeError ("'NoneType' object has no attribute
        # 'hostname'"), which Celery treats as unrecoverable (docs/OPERATIONS.md).
        "task_acks_late": False,
        "task_ignore_result": True,
        "worker_prefetch_multiplier": 1,
        "broker_connection_retry_on_startup": True,
        # Reconnect for as long as the broker is away (the default gives up after 100 tries,
        # about 50 minutes, and the worker exits).
        "broker_connection_max_retries": None,
        # Our tasks are not acknowledged late, so nothing is cancelled; set to silence the
        # warning Celery prints at every connection loss while the default is undecided.
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "timezone": "Asia/Hong_Kong",
        "enable_utc": True,
    }
    if redis_url:
        return common | {
            "broker_url": redis_url,
            # No task returns anything anyone reads: no result backend, one Redis role less.
            "result_backend": None,
            # A worker takes a message only when a pool process is free to start it, so it
            # never holds messages that wait unacknowledged (the restore that crashed it).
            "worker_disable_prefetch": True,
            # Longer than any task may run, so a slow task is not delivered twice.
            "broker_transport_options": {"visibility_timeout": 3600},
            # A web request must not hang when Redis is down: fail fast, the sweep recovers.
            "broker_connection_timeout": 2,
            "redis_socket_connect_timeout": 2,
            "redis_socket_timeout": 5,
        }
    broker_dir = instance_dir / "broker"
    return common | {
        "broker_url": "filesystem://",
        "broker_transport_options": {
            "data_folder_in": str(broker_dir / "out"),
            "data_folder_out": str(broker_dir / "out"),
            "processed_folder": str(broker_dir / "processed"),
            "control_folder": str(broker_dir / "control"),
            "store_processed": False,
            "polling_interval": 0.1,
        },
        "result_backend": None,
        "beat_schedule_filename": str(instance_dir / "celerybeat-schedule"),
    }


class Config:
    """Embedded defaults shared by every environment."""

    ENV_NAME = "development"
    DEBUG = False
    TESTING = False
    INSTANCE_DIR = INSTANCE_DIR

    SECRET_KEY = os.environ.get("SECRET_KEY") or ""
    SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("DATABASE_URL"))
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # A pooled connection unused this long is pinged before use (core.db.ping_when_idle).
    DB_PING_AFTER_IDLE_SECONDS = 10.0
    SQLALCHEMY_RECORD_QUERIES = False

    REDIS_URL = os.environ.get("REDIS_URL") or None
    CELERY = celery_settings(REDIS_URL, INSTANCE_DIR)

    # Mail: SMTP when SMTP_HOST is set, otherwise .eml files a newcomer can open.
    SMTP_HOST = os.environ.get("SMTP_HOST") or None
    SMTP_PORT = int(os.environ.get("SMTP_PORT", "587"))
    SMTP_USERNAME = os.environ.get("SMTP_USERNAME") or None
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD") or None
    SMTP_STARTTLS = _bool("SMTP_STARTTLS", True)
    MAIL_FROM = os.environ.get("MAIL_FROM", "Talent Admission Back Office <no-reply@localhost>")
    # What applicants receive (README "Mail settings"): their own sender (unset: MAIL_FROM),
    # where their replies go (unset: no Reply-To), and whom the email tells them to contact.
    APPLICANT_MAIL_FROM = os.environ.get("APPLICANT_MAIL_FROM") or None
    APPLICANT_MAIL_REPLY_TO = os.environ.get("APPLICANT_MAIL_REPLY_TO") or None
    APPLICANT_CONTACT_EMAIL = os.environ.get("APPLICANT_CONTACT_EMAIL",
                                             "talent-admission@localhost") or None
    APPLICANT_CONTACT_PHONE = os.environ.get("APPLICANT_CONTACT_PHONE") or None
    # Off: an applicant's email names no member of staff (the office answers, not a person).
    APPLICANT_EMAIL_NAMES_CASEWORKER = _bool("APPLICANT_EMAIL_NAMES_CASEWORKER", False)
    MAIL_OUTBOX_DIR = Path(os.environ.get("MAIL_OUTBOX_DIR", INSTANCE_DIR / "mail"))

    # Sessions: a short idle lifetime refreshed on each request, and an absolute one
    # checked against the sign-in time stored in the session.
    PERMANENT_SESSION_LIFETIME = timedelta(minutes=int(os.environ.get("SESSION_IDLE_MINUTES", 30)))
    SESSION_ABSOLUTE_LIFETIME = timedelta(hours=int(os.environ.get("SESSION_ABSOLUTE_HOURS", 12)))
    # Refreshed once a minute instead (core/security.py touch_session): the idle limit holds
    # without a new cookie on every request.
    SESSION_REFRESH_EACH_REQUEST = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    REMEMBER_COOKIE_DURATION = timedelta(hours=12)

    # Reminders: days before each kind of deadline; retries with exponential backoff.
    REMINDER_OFFSETS = {
        "stay_end": (90, 60, 30, 14, 7, 1),
        "job_offer": (90, 60, 30, 14, 7, 1),
        "extension_window": (14, 7, 1),
        "entry": (30, 14, 7, 1),
        "documents_due": (14, 7, 1),
    }
    REMINDER_MAX_ATTEMPTS = 5
    REMINDER_BACKOFF_SECONDS = 60
    REMINDER_LEASE_SECONDS = 300  # a claimed reminder not sent by then is claimed again
    REMINDER_BATCH = 100
    ESCALATION_LOOKBACK_DAYS = 7  # missed deadlines older than this are not escalated again
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000")

    PASSWORD_HASH_PROFILE = "standard"  # noqa: S105  (a cost profile name, not a secret)

    # Sign-in throttling (DESIGN §5: Flask-Login does none); the policy is in the README's
    # security section. Five failures in a row lock an account for the address they came
    # from (not for everyone), for 15 minutes or until an admin unlocks it.
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCKOUT = timedelta(minutes=15)
    # Failed sign-ins, whatever the account: from one client address, and from all addresses
    # together (a spray from many addresses). Flask-Limiter syntax; "" turns one off.
    LOGIN_FAILURES_PER_ADDRESS = os.environ.get("LOGIN_FAILURES_PER_ADDRESS",
                                                "20 per 15 minutes")
    LOGIN_FAILURES_ALL_ADDRESSES = os.environ.get("LOGIN_FAILURES_ALL_ADDRESSES",
                                                  "300 per 15 minutes")
    # Where the counts live: Redis when REDIS_URL is set, so every gunicorn process shares
    # them; otherwise this process's memory, which is right for the embedded run because it
    # serves the web app from one gunicorn process (scripts/run.sh).
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or REDIS_URL or "memory://"
    RATELIMIT_STRATEGY = "moving-window"
    RATELIMIT_KEY_PREFIX = "backoffice-limits"
    RATELIMIT_HEADERS_ENABLED = False  # Retry-After is set on the 429 page itself
    # How many proxies in front of the app may be believed about the client's address
    # (X-Forwarded-For). 0: none, the address is the connection's own.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))

    WTF_CSRF_TIME_LIMIT = 8 * 3600
    BOOTSTRAP_SERVE_LOCAL = True
    BOOTSTRAP_BOOTSWATCH_THEME = None
    PREFERRED_URL_SCHEME = "http"
    HSTS = False

    # Logs: plain text by default, one JSON object a line with LOG_FORMAT=json; every line a
    # request causes (in the web app and in the worker's tasks) carries its request id.
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower()
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").strip().upper()
    LOG_TO_STDERR = True
    # Only behind a proxy that sets (or overwrites) X-Request-ID itself; otherwise any
    # client could choose the id its requests are logged under.
    TRUST_REQUEST_ID_HEADER = _bool("TRUST_REQUEST_ID_HEADER", False)
    HEALTH_CHECK_TIMEOUT = float(os.environ.get("HEALTH_CHECK_TIMEOUT", "1"))

    # --- Documents: where uploads are kept, and what may be uploaded (backoffice/documents).
    # "folder": files under DOCUMENT_FOLDER, by default documents/ in the instance folder
    # (never a served folder), for one machine. "s3": an S3-compatible bucket that every web
    # server and worker shares; S3_ENDPOINT_URL empty means AWS itself, and keys left empty
    # are found the way boto3 finds them (its AWS_* variables, an instance role). A wrong
    # value fails at the first use of the store, with the setting named (storage.py).
    DOCUMENT_STORAGE = os.environ.get("DOCUMENT_STORAGE", "folder").strip().lower()
    DOCUMENT_FOLDER = Path(os.environ["DOCUMENT_FOLDER"]) if os.environ.get(
        "DOCUMENT_FOLDER") else None  # None: INSTANCE_DIR / "documents", whatever that is
    S3_BUCKET = os.environ.get("S3_BUCKET") or None
    S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL") or None
    S3_REGION = os.environ.get("S3_REGION") or None
    S3_ACCESS_KEY_ID = os.environ.get("S3_ACCESS_KEY_ID") or None
    S3_SECRET_ACCESS_KEY = os.environ.get("S3_SECRET_ACCESS_KEY") or None
    # An upload larger than this is refused before its body is read whole (uploads.py); the
    # types are MIME types recognised from the file's content, never from its name.
    UPLOAD_MAX_BYTES = int(os.environ.get("UPLOAD_MAX_BYTES", 20 * 1024 * 1024))
    UPLOAD_TYPES = ("application/pdf", "image/jpeg", "image/png")
    # Werkzeug refuses a body past this while it reads it (before the form is parsed): an
    # upload at the limit plus the form around it (uploads.FORM_ALLOWANCE) still fits.
    MAX_CONTENT_LENGTH = UPLOAD_MAX_BYTES + 64 * 1024

    # --- Letters to applicants (backoffice/letters) ------------------------------------------
    # The letterhead, the contact the letters give and the line they are signed with, in
    # English and Chinese (a letter in both languages uses both). Each letter keeps a copy
    # with the data it was made from, so a letter rendered again says what it said then.
    # The defaults are placeholders for the embedded run: set the real ones in production.
    # An address is its lines, separated by ";" in the environment variable.
    OFFICE_NAME_EN = os.environ.get("OFFICE_NAME_EN", "Talent Admission Office")
    OFFICE_NAME_ZH = os.environ.get("OFFICE_NAME_ZH", "人才入境辦事處")
    OFFICE_ADDRESS_EN = tuple(line.strip() for line in os.environ.get(
        "OFFICE_ADDRESS_EN", "20/F, Example Tower;1 Example Road, Wan Chai;Hong Kong").split(";"))
    OFFICE_ADDRESS_ZH = tuple(line.strip() for line in os.environ.get(
        "OFFICE_ADDRESS_ZH", "香港;灣仔示例道1號;示例大廈20樓").split(";"))
    OFFICE_PHONE = os.environ.get("OFFICE_PHONE", "+852 2000 0000")
    OFFICE_EMAIL = os.environ.get("OFFICE_EMAIL", "talent-admission@example.org")
    # Who signs: the office, never a person (letters name no member of staff).
    OFFICE_SIGNATURE_EN = os.environ.get("OFFICE_SIGNATURE_EN",
                                         "for Head, Talent Admission Office")
    OFFICE_SIGNATURE_ZH = os.environ.get("OFFICE_SIGNATURE_ZH", "人才入境辦事處主管（代行）")
    # Write every letter in both languages (Chinese, then English) rather than in the
    # applicant's own.
    LETTERS_IN_BOTH_LANGUAGES = _bool("LETTERS_IN_BOTH_LANGUAGES", False)


class DevelopmentConfig(Config):
    """The embedded run (`make run`): safe to start with no environment at all."""

    ENV_NAME = "development"
    # A random key per start is safer than a fixed fallback; sessions simply end on restart.
    # The run script exports one key for web and worker so both agree.
    SECRET_KEY = os.environ.get("SECRET_KEY") or secrets.token_hex(32)


class TestingConfig(Config):
    """Used by the test suite; the database URL is chosen by the fixtures."""

    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-only-secret-key-not-for-production"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SERVER_NAME = "localhost"
    # Standard argon2 costs 0.2 s a hash here; tests hash hundreds of passwords.
    PASSWORD_HASH_PROFILE = "fast"  # noqa: S105
    LOG_TO_STDERR = False  # pytest captures the logs through its own handler
    # Each test app counts sign-in failures in its own memory; tests that need a shared
    # storage say so (tests/auth/test_throttling.py).
    RATELIMIT_STORAGE_URI = "memory://"
    # Documents go to documents/ in each test app's own INSTANCE_DIR (tests/conftest.py gives
    # each a temporary one), whatever DOCUMENT_FOLDER the shell running the tests has set.
    DOCUMENT_STORAGE = "folder"
    DOCUMENT_FOLDER = None


class ProductionConfig(Config):
    """Real services. Refuses to start with a missing or weak secret key."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-session"
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"
    HSTS = True

    @classmethod
    def validate(cls) -> None:
        """Fail loudly before serving anything if a setting would be unsafe."""
        key = os.environ.get("SECRET_KEY", "")
        if len(key) < 32:
            raise ConfigError(
                "SECRET_KEY must be set to a random value of at least 32 characters in "
                "production (for example the output of "
                "python -c 'import secrets; print(secrets.token_hex(32))'). "
                "Without it anyone could forge a session cookie."
            )
        cls.SECRET_KEY = key
        if not os.environ.get("DATABASE_URL"):
            raise ConfigError("DATABASE_URL must point at PostgreSQL in production.")
        storage = os.environ.get("RATELIMIT_STORAGE_URI") or os.environ.get("REDIS_URL")
        if not storage or storage.startswith("memory://"):
            raise ConfigError(
                "Set REDIS_URL (or RATELIMIT_STORAGE_URI) in production: the sign-in limits "
                "must be shared by every web process, and memory is one process's own.")
        cls.RATELIMIT_STORAGE_URI = storage


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_for(name: str | None = None) -> type[Config]:
    """The config class named by ``name`` or the ``BACKOFFICE_ENV`` variable."""
    name = (name or os.environ.get("BACKOFFICE_ENV") or "development").lower()
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(
            f"Unknown BACKOFFICE_ENV {name!r}; use one of {', '.join(CONFIGS)}."
        ) from None
