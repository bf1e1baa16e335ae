"""Logs an operator can follow: one line per event, JSON when ``LOG_FORMAT=json``, and a
request id on every line a request causes, in the web process and in the worker.

The id is taken from the ``X-Request-ID`` header when ``TRUST_REQUEST_ID_HEADER`` says the
proxy in front sets it (and it looks like an id), otherwise made here; it goes back in the
response header. A task published while the id is known carries it in its message headers
(``before_task_publish``), and the worker binds it for the task's run (``task_prerun``), so
the worker's lines for that task carry the request's id too.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from contextvars import ContextVar, Token
from types import MappingProxyType
from typing import Any, TextIO

from celery import signals as celery_signals
from flask import Flask, current_app, g, request
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
# The message header a task carries the id in (Celery protocol 2 custom header).
TASK_HEADER = "backoffice_request_id"
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
# An id from outside is written into every log line: no spaces, quotes or control characters
# (a forged id must not be able to fake a second log line), and not too long.
_WELL_FORMED = re.compile(r"[A-Za-z0-9._:@+=/-]{1,128}")

_NOTHING: Mapping[str, str] = MappingProxyType({})
_context: ContextVar[Mapping[str, str]] = ContextVar("backoffice_log_context", default=_NOTHING)
# Requests whose line would drown the others (a load balancer asks every few seconds).
QUIET_ENDPOINTS = frozenset({"core.healthz", "core.readyz"})
# Libraries that say at INFO what only their developers need (each process start).
QUIET_LOGGERS = {"alembic.runtime.plugins": logging.WARNING}

request_log = logging.getLogger("backoffice.request")


def current() -> Mapping[str, str]:
    """What the lines logged here and now carry: ``request_id``, and in the worker the
    task's ``task_id`` and ``task_name``."""
    return _context.get()


def request_id() -> str | None:
    return _context.get().get("request_id")


def bind(**fields: str) -> Token:
    """Add ``fields`` to every line logged in this context until :func:`unbind`."""
    return _context.set({**_context.get(), **fields})


def unbind(token: Token) -> None:
    _context.reset(token)


@contextmanager
def bound(**fields: str) -> Iterator[None]:
    token = bind(**fields)
    try:
        yield
    finally:
        unbind(token)


def new_request_id() -> str:
    return uuid.uuid4().hex


def well_formed(candidate: str | None) -> bool:
    return bool(candidate) and _WELL_FORMED.fullmatch(candidate) is not None


class ContextFilter(logging.Filter):
    """Copies the bound fields onto each record, so formatters (text or JSON) can use them."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = _context.get()
        for key, value in fields.items():
            if not hasattr(record, key):
                setattr(record, key, value)
        if not hasattr(record, "request_id"):
            record.request_id = "-"
        return True


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter(["levelname", "name", "message"], timestamp="time",
                             rename_fields={"levelname": "level", "name": "logger"})
    if log_format == "text":
        return logging.Formatter(TEXT_FORMAT)
    raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {log_format!r}.")


class _Handler(logging.StreamHandler):
    """The handler :func:`configure` installs, recognised so a second call replaces it."""


def configure(log_format: str = "text", level: str | int = "INFO",
              stream: TextIO | None = None) -> logging.Handler:
    """Send every log line to ``stream`` (stderr) in ``log_format``, with the bound fields.

    Replaces a handler an earlier call installed, so building the app twice in one process
    does not write every line twice.
    """
    handler = _Handler(stream or sys.stderr)
    handler.setFormatter(formatter(log_format))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name, quiet_level in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(quiet_level)
    return handler


# --- The web side ---------------------------------------------------------------------------

def _start_request() -> None:
    offered = request.headers.get(REQUEST_ID_HEADER)
    trusted = offered if current_app.config.get("TRUST_REQUEST_ID_HEADER") else None
    if not well_formed(trusted):
        trusted = None
    g.request_id = trusted or new_request_id()
    g.log_token = bind(request_id=g.request_id)
    g.started = time.perf_counter()


def _finish_request(response):
    rid = g.get("request_id")
    if rid:
        response.headers[REQUEST_ID_HEADER] = rid
        started = g.get("started")
        level = logging.DEBUG if request.endpoint in QUIET_ENDPOINTS else logging.INFO
        request_log.log(level, "%s %s %s", request.method, request.path, response.status_code,
                        extra={"method": request.method, "path": request.path,
                               "status": response.status_code,
                               "duration_ms": round((time.perf_counter() - started) * 1000, 1)
                               if started else None})
    return response


def _end_request(_error: BaseException | None = None) -> None:
    token = g.pop("log_token", None)
    if token is not None:
        # Torn down in another context than the one that bound it (a streamed body is
        # finished later): that context ends with the request anyway.
        with suppress(RuntimeError, ValueError):
            unbind(token)


def init_app(app: Flask) -> None:
    """Set up the log handler (``LOG_FORMAT``, ``LOG_LEVEL``) unless ``LOG_TO_STDERR`` is off
    (the tests keep pytest's own), and give every request its id."""
    log_format = app.config.get("LOG_FORMAT", "text")
    formatter(log_format)  # an unknown format fails here, at start, not at the first line
    if app.config.get("LOG_TO_STDERR", True):
        configure(log_format, app.config.get("LOG_LEVEL", "INFO"))
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.teardown_request(_end_request)


# --- The worker side ------------------------------------------------------------------------

@celery_signals.before_task_publish.connect
def _carry_request_id(headers: dict | None = None, **_kwargs: Any) -> None:
    """A task published while a request (or a task) is known takes its id along."""
    rid = request_id()
    if rid and headers is not None:
        headers.setdefault(TASK_HEADER, rid)


@celery_signals.task_prerun.connect
def _bind_task(task_id: str | None = None, task: Any = None, **_kwargs: Any) -> None:
    fields = {"task_id": task_id or "", "task_name": getattr(task, "name", "")}
    rid = getattr(task.request, TASK_HEADER, None) if task is not None else None
    if well_formed(rid):
        fields["request_id"] = rid
    task.request.backoffice_log_token = bind(**fields)


@celery_signals.task_postrun.connect
def _unbind_task(task: Any = None, **_kwargs: Any) -> None:
    token = getattr(task.request, "backoffice_log_token", None) if task is not None else None
    if token is not None:
        task.request.backoffice_log_token = None
        unbind(token)


@celery_signals.setup_logging.connect
def _keep_app_logging(loglevel: int | str | None = None, **_kwargs: Any) -> None:
    """Celery replaces the root logger's handlers with its own unless someone answers this
    signal; the app factory has already set them up (JSON or text), so keep them and take
    only the worker's ``--loglevel``."""
    root = logging.getLogger()
    if not any(isinstance(h, _Handler) for h in root.handlers):
        # The app was built without its handler (LOG_TO_STDERR off, as under pytest); a
        # worker process still needs one, or answering this signal would silence it.
        configure(os.environ.get("LOG_FORMAT", "text"), loglevel or "INFO")
    elif loglevel:
        root.setLevel(loglevel)
