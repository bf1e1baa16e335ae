"""Talent admission back office: the application factory."""

from __future__ import annotations

import importlib
from pathlib import Path

from flask import Flask

from backoffice.core.i18n import lazy_gettext
from config import Config, ProductionConfig, config_for

# The feature packages, lowest first: each imports only core and the features before it
# (tests/test_structure.py checks it). Adding one here is all it takes to plug it in.
FEATURES = ("auth", "quota", "cases", "documents", "letters", "notifications", "reports")


def create_app(config: type[Config] | str | None = None, **overrides) -> Flask:
    """Build the app from a config class (or its name) plus keyword overrides.

    Nothing here touches the database: the schema is created by migrations only.
    """
    config_cls = config if isinstance(config, type) else config_for(config)
    if issubclass(config_cls, ProductionConfig):
        config_cls.validate()
    app = Flask(__name__, instance_path=str(config_cls.INSTANCE_DIR))
    app.config.from_object(config_cls)
    app.config.update(overrides)
    register_logging(app)
    register_converters(app)

    register_extensions(app)
    register_i18n(app)
    register_models()
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_template_helpers(app)
    return app


def register_logging(app: Flask) -> None:
    """First, so every later step and every request's hooks log with the request id."""
    from backoffice.core.logging import init_app

    init_app(app)


def register_converters(app: Flask) -> None:
    from backoffice.core.converters import IdConverter

    app.url_map.converters["id"] = IdConverter


def _feature_modules(room: str) -> list[str]:
    """``backoffice.<feature>.<room>`` for every feature that has that room."""
    here = Path(__file__).parent
    return [f"backoffice.{name}.{room}" for name in FEATURES
            if (here / name / f"{room}.py").exists()]


def register_extensions(app: Flask) -> None:
    from backoffice.core import security
    from backoffice.core.celery import celery_init_app
    from backoffice.core.db import configure_sqlite, ping_when_idle, render_migration_item
    from backoffice.extensions import bootstrap, csrf, db, login_manager, migrate

    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)
        ping_when_idle(db.engine, app.config["DB_PING_AFTER_IDLE_SECONDS"])
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"),
                     render_as_batch=True, compare_type=True,
                     render_item=render_migration_item)
    csrf.init_app(app)
    bootstrap.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.localize_callback = str  # the lazy message, in the reader's language
    login_manager.session_protection = "strong"
    security.init_app(app)
    celery_init_app(app, _feature_modules("tasks"))


def register_i18n(app: Flask) -> None:
    from backoffice.core.i18n import init_app

    init_app(app)


def register_models() -> None:
    """Import every feature's models so the metadata (and so Alembic) sees all tables."""
    for name in _feature_modules("models"):
        importlib.import_module(name)


def register_blueprints(app: Flask) -> None:
    """Each feature's blueprint, with its views. Route modules attach their views (and their
    menu entries) when imported; importing them here, not in the packages, keeps model
    imports free of import cycles."""
    for routes in ["backoffice.core.routes", *_feature_modules("routes")]:
        importlib.import_module(routes)
        app.register_blueprint(importlib.import_module(routes.rpartition(".")[0]).bp)


def register_errorhandlers(app: Flask) -> None:
    from backoffice.core.errors import init_app

    init_app(app)


def register_commands(app: Flask) -> None:
    from backoffice.auth.commands import create_user_command
    from backoffice.demo.commands import seed_demo_command

    app.cli.add_command(create_user_command)
    app.cli.add_command(seed_demo_command)


def register_template_helpers(app: Flask) -> None:
    from backoffice.core.forms import use_fast_attributes
    from backoffice.core.templating import init_app

    use_fast_attributes()
    init_app(app)
