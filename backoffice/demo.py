"""``flask seed-demo``: demo accounts (and, as features land, demo data) for the embedded run."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from backoffice.auth import services as accounts
from backoffice.auth.models import Role
from backoffice.extensions import db

# Printed by `make run`; only ever created outside production.
DEMO_ACCOUNTS = [
    ("admin@example.org", "Ada Admin", Role.ADMIN, "demo-admin-password"),
    ("supervisor@example.org", "Sam Supervisor", Role.SUPERVISOR, "demo-supervisor-password"),
    ("caseworker@example.org", "Chan Tai Man", Role.CASEWORKER, "demo-caseworker-password"),
    ("caseworker2@example.org", "Wong Siu Ling", Role.CASEWORKER, "demo-caseworker-password"),
]


def seed_demo_accounts() -> list[str]:
    """Create the demo accounts that do not exist yet; return the emails created."""
    created = []
    for email, name, role, password in DEMO_ACCOUNTS:
        if accounts.get_user_by_email(email) is None:
            accounts.create_user(None, email=email, full_name=name, role=role, password=password)
            created.append(email)
    return created


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Create demo accounts for every role. Safe to run twice; refused in production."""
    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException(
            "seed-demo creates known passwords; it is refused in production.")
    created = seed_demo_accounts()
    db.session.commit()
    click.echo(f"Demo accounts: {len(created)} created, "
               f"{len(DEMO_ACCOUNTS) - len(created)} already there.")
