"""The letters the office writes to an applicant, and the step of the case each one follows.

A kind names a pair of templates (``letters/<kind>.en.html``, ``letters/<kind>.zh_Hant_HK.html``)
and what :func:`backoffice.letters.data.letter_data` reads off the case for it.
"""

from __future__ import annotations

from enum import StrEnum

from backoffice.core.i18n import lazy_gettext

__all__ = ["STEP_LETTERS", "LetterKind", "letter_for_step"]


class LetterKind(StrEnum):
    """A letter to the applicant. The value names its templates and is what a case keeps."""

    ACKNOWLEDGEMENT = "acknowledgement"  # the application has been received
    DOCUMENTS_REQUEST = "documents_request"  # please send these documents by a date
    APPROVAL = "approval"
    REFUSAL = "refusal"
    EXTENSION_GRANTED = "extension_granted"
    EXTENSION_REFUSED = "extension_refused"

    @property
    def label(self) -> str:
        """The letter's name as a caseworker reads it in a list of letters sent."""
        return _LABELS[self]

    @property
    def steps(self) -> tuple[str, ...]:
        """The lifecycle steps (``schemes.Transition.name``) whose outcome the letter tells,
        latest first in the case's history; () for a letter that follows no step."""
        return tuple(step for step, kind in STEP_LETTERS.items() if kind == self)


_LABELS: dict[LetterKind, str] = {
    LetterKind.ACKNOWLEDGEMENT: lazy_gettext("Acknowledgement of the application"),
    LetterKind.DOCUMENTS_REQUEST: lazy_gettext("Request for documents"),
    LetterKind.APPROVAL: lazy_gettext("Approval of the application"),
    LetterKind.REFUSAL: lazy_gettext("Refusal of the application"),
    LetterKind.EXTENSION_GRANTED: lazy_gettext("Extension of stay granted"),
    LetterKind.EXTENSION_REFUSED: lazy_gettext("Extension of stay refused"),
}

# The step after which each letter is written (the step names are the same in every scheme's
# lifecycle). A request for documents follows no step: the documents feature asks for them.
STEP_LETTERS: dict[str, LetterKind] = {
    "submit": LetterKind.ACKNOWLEDGEMENT,
    "approve": LetterKind.APPROVAL,
    "refuse": LetterKind.REFUSAL,
    "refuse_ineligible": LetterKind.REFUSAL,
    "grant_extension": LetterKind.EXTENSION_GRANTED,
    "refuse_extension": LetterKind.EXTENSION_REFUSED,
}


def letter_for_step(step: str) -> LetterKind | None:
    """The letter the applicant is owed after the step called ``step``, or None."""
    return STEP_LETTERS.get(step)
