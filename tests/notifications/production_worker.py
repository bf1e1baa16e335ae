"""The Celery app a test starts as a real worker or beat process:
``celery -A tests.notifications.production_worker worker``.

It is ``worker.py`` with the production Celery settings (``config.celery_settings``) for the
broker in ``TEST_WORKER_REDIS_URL``; the database, SMTP server, lease and batch come from
``TEST_WORKER_SETTINGS`` (JSON), written by the test that starts the process.
"""

import json
import os

from backoffice import create_app
from config import TestingConfig, celery_settings

_settings = json.loads(os.environ["TEST_WORKER_SETTINGS"])
_celery = celery_settings(os.environ["TEST_WORKER_REDIS_URL"], _settings.pop("INSTANCE_DIR"))
_celery |= _settings.pop("CELERY", {})
flask_app = create_app(TestingConfig, CELERY=_celery, **_settings)
celery_app = flask_app.extensions["celery"]
# The features' schedule at test speed: same tasks, seconds instead of minutes.
for _name, _every in json.loads(os.environ.get("TEST_WORKER_BEAT_EVERY", "{}")).items():
    celery_app.conf.beat_schedule[_name]["schedule"] = float(_every)
