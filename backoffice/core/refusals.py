"""One way out of a form view: a refusal becomes a message on the same page, success commits
once and redirects (post/redirect/get)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from flask import flash, redirect
from flask_babel import gettext
from flask_wtf import FlaskForm

from backoffice.extensions import db


class Refusal(Exception):
    """A rule refused the change; ``str(refusal)`` is a sentence for the person who asked.

    Every feature's rule errors derive from it. ``keeps_changes``: the refusal itself
    recorded something that must stay (the edge commits instead of rolling back).
    """

    keeps_changes = False


@dataclass
class Refused:
    """What :func:`refusals` caught: false while nothing was refused. ``kept``: the refusal
    kept what it recorded (committed), so the state did change: answer with :func:`kept`."""

    message: str | None = None
    kept: bool = False
    # The refusal itself, for a view that shows more of it than its sentence (the matches
    # a duplicate refusal found).
    refusal: Exception | None = None

    def __bool__(self) -> bool:
        return self.message is not None


@contextmanager
def refusals(errors: list[str] | None = None,
             also: Mapping[type[Exception], str] | None = None) -> Iterator[Refused]:
    """Run a service call; if a rule refuses it, end the transaction and keep the reason.

    A :class:`Refusal` (or an exception named in ``also``, with the sentence to show for it,
    such as SQLAlchemy's StaleDataError) rolls the transaction back, or commits it when the
    refusal keeps its changes. Its message goes onto the yielded :class:`Refused` and, when
    given, into ``errors`` (a form's or a field's error list). Anything else propagates: a
    fault, not a refusal, is a 500 (whose handler rolls back).
    """
    refused = Refused()
    caught = (Refusal, *(also or {}))
    try:
        yield refused
    except caught as exc:
        refused.kept = bool(getattr(exc, "keeps_changes", False))
        if refused.kept:
            db.session.commit()
        else:
            db.session.rollback()
        refused.message = (also or {}).get(type(exc), str(exc))
        refused.refusal = exc
        if errors is not None:
            errors.append(refused.message)


def check_form(form: FlaskForm) -> None:
    """Refuse a submitted form that does not validate, with its first error."""
    if not form.validate_on_submit():
        raise Refusal(first_error(form))


def first_error(form: FlaskForm) -> str:
    for errors in form.errors.values():
        if errors:
            return errors[0]
    return gettext("The form could not be read; reload the page and try again.")


def kept(message: str, url: str):
    """A refusal that kept a change (a full quota moved the case to wait) is answered like a
    success, not shown in place: go to ``url`` (303 See Other, so a refresh does not post
    again) and say there why the step asked for did not happen. Only a refusal that changed
    nothing is shown again on its page (422). :func:`refusals` has already committed."""
    flash(message, "warning")
    return redirect(url, 303)


def saved(message: str, url: str):
    """Commit the request's one transaction, say what was done, and go to ``url``."""
    db.session.commit()
    flash(message, "success")
    return redirect(url)
