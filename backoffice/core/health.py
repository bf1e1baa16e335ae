"""Probes for a load balancer or process manager: ``/healthz`` (the process answers) and
``/readyz`` (it can serve: the database answers).

Both are open to anyone, set no cookie and show nothing private. The broker is reported but
never makes the app unready: reminders are rows, and a periodic sweep sends whatever waited
while Redis was down (DESIGN §5), so taking the web app out of service would only add harm.
Every check has a short timeout, so a dead service makes a probe slow by at most that.
"""

from __future__ import annotations

import logging

from flask import current_app, jsonify
from kombu import Connection
from sqlalchemy import text

from backoffice.core import bp
from backoffice.extensions import db

log = logging.getLogger(__name__)

OK, UNREACHABLE = "ok", "unreachable"


def database_state() -> str:
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "cannot serve"; the log keeps the detail
        log.warning("readiness: the database is unreachable: %s", exc)
        return UNREACHABLE
    return OK


def broker_state() -> str:
    """Connect to Celery's broker once, with the probe's own short timeouts."""
    settings = current_app.extensions["celery"].conf
    timeout = float(current_app.config.get("HEALTH_CHECK_TIMEOUT", 1.0))
    options = {**(settings.broker_transport_options or {}),
               "socket_timeout": timeout, "socket_connect_timeout": timeout}
    try:
        with Connection(settings.broker_url, connect_timeout=timeout,
                        transport_options=options) as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0,
                                         timeout=timeout)
    except Exception as exc:  # reported, never fatal: see the module's docstring
        log.warning("readiness: the broker is unreachable: %s", exc)
        return UNREACHABLE
    return OK


def _probe_response(body: dict, status: int):
    response = jsonify(body)
    response.status_code = status
    # A probe's answer is about this moment: no proxy may keep it.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz():
    """The process is up and answering. Touches nothing else, so a database outage does
    not make a process manager restart healthy web workers."""
    return _probe_response({"status": "ok"}, 200)


@bp.get("/readyz")
def readyz():
    """200 when the database answers, 503 when it does not; the broker is reported."""
    checks = {"database": database_state(), "broker": broker_state()}
    ready = checks["database"] == OK
    return _probe_response({"status": "ready" if ready else "not ready", "checks": checks},
                           200 if ready else 503)
