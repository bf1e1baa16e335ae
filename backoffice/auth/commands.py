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
              help="At least 12 characters, not a common password. Omit to be prompted "
                   "without echo.")
@click.option("--password-chosen", is_flag=True, default=False,
              help="The password is the user's own (a scripted set-up where they chose it): "
                   "do not make them choose a new one at first sign-in.")
@with_appcontext
def create_user_command(email: str, full_name: str, role: str, password: str,
                        password_chosen: bool) -> None:
    """Create an account (for example the first admin).

    The password is temporary unless --password-chosen is given: the user chooses their own
    at first sign-in. The email must be one the admin form would accept.
    """
    try:
        user = accounts.create_user(None, email=email, full_name=full_name, role=Role(role),
                                    password=password, temporary=not password_chosen)
    except accounts.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    then = "" if password_chosen else " They choose a new password at first sign-in."
    click.echo(f"Created {user.role.value} {user.email} (id {user.id}).{then}")
