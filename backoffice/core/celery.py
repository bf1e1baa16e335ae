"""Celery wired the Flask way: every task runs inside the app context (pallets/flask
examples/celery)."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path

from celery import Celery, Task
from flask import Flask

from backoffice.core import signals


def celery_init_app(app: Flask, task_modules: Iterable[str] = ()) -> Celery:
    """Create the Celery app from ``app.config["CELERY"]`` and store it on the Flask app.

    ``task_modules`` are the features' task modules (named by ``create_app``): the worker
    imports them to register the tasks, and each declares its periodic tasks next to them
    through ``signals.beat_schedule``.
    """

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    _ensure_broker_folders(app.config["CELERY"])
    modules = tuple(task_modules)
    for name in modules:
        importlib.import_module(name)
    celery_app.conf.imports = modules
    celery_app.conf.beat_schedule = beat_schedule(celery_app)
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


def beat_schedule(sender: object = None) -> dict:
    """Every periodic task, as the features declare them beside their tasks. Two features
    declaring the same entry name is a mistake that would silently drop one: refused."""
    schedule: dict = {}
    for receiver, entries in signals.beat_schedule.send(sender):
        clash = schedule.keys() & entries.keys()
        if clash:
            raise RuntimeError(f"{receiver.__module__} declares beat entries that another "
                               f"feature already declared: {sorted(clash)}")
        schedule.update(entries)
    return schedule


def _ensure_broker_folders(settings: dict) -> None:
    """The embedded filesystem broker fails when its folders are missing; make them."""
    if not str(settings.get("broker_url", "")).startswith("filesystem://"):
        return
    options = settings.get("broker_transport_options", {})
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
