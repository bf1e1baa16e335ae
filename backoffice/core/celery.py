"""Celery wired the Flask way: every task runs inside the app context (pallets/flask
examples/celery)."""

from __future__ import annotations

from pathlib import Path

from celery import Celery, Task
from flask import Flask


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app from ``app.config["CELERY"]`` and store it on the Flask app."""

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    _ensure_broker_folders(app.config["CELERY"])
    celery_app.conf.beat_schedule = beat_schedule()
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    # Import the task modules so the worker registers them.
    celery_app.conf.imports = ("backoffice.notifications.tasks", "backoffice.cases.tasks")
    return celery_app


def beat_schedule() -> dict:
    """Every periodic task, declared here in one place next to its period."""
    return {
        "worker-heartbeat": {
            "task": "backoffice.notifications.tasks.heartbeat",
            "schedule": 30.0,
        },
        # Deadlines are due by Hong Kong day; sweeping every 10 minutes marks them soon after
        # midnight and costs one indexed query when there is nothing to do.
        # Reminders are rows; planning writes them, dispatch sends what is due. Dispatch also
        # runs every minute as the sweeper for anything a lost message or a dead worker left.
        "plan-reminders": {
            "task": "backoffice.notifications.tasks.plan_reminders",
            "schedule": 300.0,
        },
        "dispatch-reminders": {
            "task": "backoffice.notifications.tasks.dispatch_reminders",
            "schedule": 60.0,
        },
        "sweep-deadlines": {
            "task": "backoffice.cases.tasks.sweep_deadlines",
            "schedule": 600.0,
        },
    }


def _ensure_broker_folders(settings: dict) -> None:
    """The embedded filesystem broker fails when its folders are missing; make them."""
    if not str(settings.get("broker_url", "")).startswith("filesystem://"):
        return
    options = settings.get("broker_transport_options", {})
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
