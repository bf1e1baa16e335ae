"""``flask create-user``: the way to make the first admin on a new installation."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from backoffice.auth import services as accounts
from backoffice.auth.models import Role
from backoffice.extensions import db


@click.command("create-user")
@click.option("--email", prompt=True, help="Sign-in email address.")
@click.option("--name", "full_name", prompt="Full name", help="The person's full name.")
@click.option("--role", type=click.Choice([r.value for r in Role]), prompt=True,
              help="caseworker, supervisor or admin.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="At least 12 characters. Omit to be prompted without echo.")
@with_appcontext
def create_user_command(email: str, full_name: str, role: str, password: str) -> None:
    """Create an account (for example the first admin)."""
    try:
        user = accounts.create_user(None, email=email, full_name=full_name, role=Role(role),
                                    password=password)
    except accounts.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Created {user.role.value} {user.email} (id {user.id}).")
