"""Configuration: production refuses unsafe settings, URLs and the Celery broker choice."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import config
from backoffice import create_app
from config import (
    CONFIGS,
    ConfigError,
    DevelopmentConfig,
    ProductionConfig,
    TestingConfig,
    celery_settings,
    config_for,
    database_url,
)
from tests.conftest import build_app

GOOD_KEY = "k" * 32
PG_URL = "postgresql://backoffice@db.internal/backoffice"


@pytest.fixture
def production_env(monkeypatch):
    """A complete production environment; each test removes or spoils one part of it.

    ``validate()`` stores the key on the class, so the class attribute is restored too.
    """
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", ProductionConfig.SECRET_KEY)
    monkeypatch.setenv("SECRET_KEY", GOOD_KEY)
    monkeypatch.setenv("DATABASE_URL", PG_URL)
    monkeypatch.setenv("REDIS_URL", "redis://redis.internal:6379/0")
    monkeypatch.setattr(ProductionConfig, "RATELIMIT_STORAGE_URI",
                        ProductionConfig.RATELIMIT_STORAGE_URI)
    return monkeypatch


@pytest.mark.parametrize(
    ("secret_key", "database_url_value", "message"),
    [
        (None, PG_URL, "SECRET_KEY"),
        ("", PG_URL, "SECRET_KEY"),
        ("short-key", PG_URL, "SECRET_KEY"),
        ("k" * 31, PG_URL, "SECRET_KEY"),
        (GOOD_KEY, None, "DATABASE_URL"),
        (GOOD_KEY, "", "DATABASE_URL"),
    ],
)
@pytest.mark.parametrize("how", ["validate", "create_app"])
def test_production_refuses_unsafe_settings(production_env, secret_key, database_url_value,
                                            message, how):
    for name, value in (("SECRET_KEY", secret_key), ("DATABASE_URL", database_url_value)):
        if value is None:
            production_env.delenv(name)
        else:
            production_env.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        if how == "validate":
            ProductionConfig.validate()
        else:
            create_app("production")


def test_production_secret_key_message_says_how_to_make_one(production_env):
    production_env.delenv("SECRET_KEY")
    with pytest.raises(ConfigError) as info:
        ProductionConfig.validate()
    assert "at least 32 characters" in str(info.value)
    assert "secrets.token_hex" in str(info.value)


def test_production_accepts_a_long_key_and_a_database(production_env):
    ProductionConfig.validate()
    assert GOOD_KEY == ProductionConfig.SECRET_KEY


def test_production_is_chosen_by_backoffice_env(production_env):
    production_env.setenv("BACKOFFICE_ENV", "production")
    production_env.delenv("SECRET_KEY")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_production_cookies_are_secure():
    assert ProductionConfig.SESSION_COOKIE_SECURE is True
    assert ProductionConfig.REMEMBER_COOKIE_SECURE is True
    assert ProductionConfig.SESSION_COOKIE_NAME.startswith("__Host-")
    assert ProductionConfig.HSTS is True


def test_development_never_falls_back_to_a_fixed_key():
    assert DevelopmentConfig.SECRET_KEY
    if "SECRET_KEY" not in os.environ:  # then it is random per start
        assert len(DevelopmentConfig.SECRET_KEY) >= 32
    assert DevelopmentConfig.SECRET_KEY != TestingConfig.SECRET_KEY


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("postgresql://u:p@host:5432/db", "postgresql+psycopg://u:p@host:5432/db"),
        ("postgres://u:p@host/db", "postgresql+psycopg://u:p@host/db"),
        ("postgresql+psycopg://u@host/db", "postgresql+psycopg://u@host/db"),
        ("sqlite:////srv/data/bo.sqlite3", "sqlite:////srv/data/bo.sqlite3"),
        # Only the scheme is rewritten, never a "postgres://" further along.
        ("postgresql://u@host/db?x=postgres://", "postgresql+psycopg://u@host/db?x=postgres://"),
    ],
)
def test_database_url_chooses_psycopg_3(raw, expected):
    assert database_url(raw) == expected


@pytest.mark.parametrize("raw", [None, ""])
def test_database_url_defaults_to_a_sqlite_file_in_the_instance_folder(raw):
    url = database_url(raw)
    assert url.startswith("sqlite:///")
    path = Path(url.removeprefix("sqlite:///"))
    assert path.is_absolute()
    assert path == config.INSTANCE_DIR / "backoffice.sqlite3"
    if "INSTANCE_DIR" not in os.environ:
        assert path.parent == config.BASE_DIR / "instance"


@pytest.mark.parametrize("name", ["development", "testing", "production", "PRODUCTION"])
def test_config_for_known_names(name):
    assert config_for(name) is CONFIGS[name.lower()]


def test_config_for_defaults_to_development(monkeypatch):
    monkeypatch.delenv("BACKOFFICE_ENV", raising=False)
    assert config_for(None) is DevelopmentConfig


@pytest.mark.parametrize("name", ["nope", "prod", "test "])
def test_config_for_unknown_name_raises(name):
    with pytest.raises(ConfigError, match="Unknown BACKOFFICE_ENV"):
        config_for(name)


def test_celery_without_redis_uses_the_filesystem_broker_under_the_instance_dir(tmp_path):
    settings = celery_settings(None, tmp_path)
    assert settings["broker_url"] == "filesystem://"
    options = settings["broker_transport_options"]
    for key in ("data_folder_in", "data_folder_out", "processed_folder"):
        assert Path(options[key]).is_relative_to(tmp_path), key
    # Producer and worker meet in the same folder.
    assert options["data_folder_in"] == options["data_folder_out"]
    assert Path(settings["beat_schedule_filename"]).is_relative_to(tmp_path)


def test_app_without_redis_creates_the_broker_folders(tmp_path):
    app = build_app(f"sqlite:///{tmp_path / 'x.sqlite3'}", tmp_path)
    celery_app = app.extensions["celery"]
    assert celery_app.conf.broker_url == "filesystem://"
    options = celery_app.conf.broker_transport_options
    for key in ("data_folder_in", "data_folder_out", "processed_folder"):
        assert Path(options[key]).is_dir(), key
        assert Path(options[key]).is_relative_to(tmp_path), key


def test_celery_with_redis_uses_redis_with_a_visibility_timeout(tmp_path):
    url = "redis://cache.internal:6379/0"
    settings = celery_settings(url, tmp_path)
    assert settings["broker_url"] == url
    timeout = settings["broker_transport_options"]["visibility_timeout"]
    assert timeout >= 3600  # longer than any task runs, so none is delivered twice
    assert "data_folder_in" not in settings["broker_transport_options"]
    assert not list(tmp_path.iterdir())  # no broker folders for Redis


@pytest.mark.parametrize("redis_url", [None, "redis://cache.internal:6379/0"])
def test_celery_settings_let_a_worker_live_through_a_broker_outage(tmp_path, redis_url):
    """A worker holding an unacknowledged message when Redis goes away dies in kombu's
    restore of it (docs/OPERATIONS.md): tasks are acknowledged when they start, and the
    worker reconnects for as long as it takes."""
    settings = celery_settings(redis_url, tmp_path)
    assert settings["task_acks_late"] is False
    assert settings["task_ignore_result"] is True
    assert settings["worker_prefetch_multiplier"] == 1
    assert settings["broker_connection_max_retries"] is None
    assert settings["result_backend"] is None
    assert settings.get("worker_disable_prefetch", False) is (redis_url is not None)
