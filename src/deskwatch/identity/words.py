"""Everything the worker reads about identity: the page's notes and the password replies.

Plain words only; the evidence keys the server sees (``reason_*``, ``not_enrolled``) are
codes, named here because each result's words are looked up by its first reason.
"""

from __future__ import annotations

from deskwatch.identity.check import (
    CAMERA_FROZEN,
    LIVENESS_FAILED,
    FaceWindow,
    IdentityResult,
    Outcome,
    Problem,
)

# Evidence keys of the hook's own results (the check's are in ``check``).
NOT_ENROLLED = "not_enrolled"
INTERRUPTED = "reason_interrupted"
LOCKED = "reason_locked"
NO_ANSWER = "reason_no_answer"
UNAVAILABLE = "reason_unavailable"
INSECURE = "reason_insecure_server"

OFF = "Identity checks are off."
CHECKING = "Identity check running: nothing to do unless this page asks you."
ENROLLING = "Enrolling: look at the camera and turn your head slightly left and right, slowly."
ENROL_TURN = "Almost there: please turn your head slightly left and right."
ENROLLED = "Enrolled. Your face template is encrypted on this PC and never sent."
ENROL_CANCELLED = "Enrolment cancelled: nothing was kept."
ENROL_RUNNING = "Enrolment is already running: look at the camera."
ENROL_OFF = "Identity checks are off: there is nothing to enrol for."
ASK_ENROL_PASSWORD = "To start enrolling, type your password (checked by the server)."
NOTHING_STARTED = "Nothing was started."
DECLINED = "No face template is kept. You will be asked for your password instead."
DELETED = "Your face template is deleted. Identity checks are off."
NOTHING_TO_DELETE = "There was no face template to delete."
WITHDRAWN = "You withdrew consent for identity checks: your face template was deleted."
TEAM_OFF = "Identity checks are off for your team: your face template was deleted."
ASK_PASSWORD = "Please confirm it is you: enter your password below."
CONFIRMED = "Identity confirmed."
NOT_CONFIRMED = "That password was not right either: identity not confirmed."
NOTHING_DUE = "No confirmation is due right now."
ALREADY_ENDED = "This confirmation had already ended; nothing more was sent."
UNREACHABLE = "The server cannot be reached; please try again in a moment."
MISSING_EXTRA = "Face checks cannot run on this PC (a part of deskwatch is missing)."
CHALLENGE = "Identity check: please turn your head slightly to one side and back, or blink."
INSECURE_WORDS = (
    "Your password is not sent: the server's address is not https. Ask your administrator "
    "to use an https address for deskwatch."
)
LOCKED_WORDS = (
    "Too many wrong passwords: the server has locked confirmation for up to 15 minutes. "
    "Please try again later."
)
_FACE_HINTS = {
    Problem.TOO_FAR: "please sit a little closer to the camera",
    Problem.DARK: "please put more light on your face",
}

# In the order they are looked for: the first reason a result has gives its words.
_REASON_WORDS = {
    CAMERA_FROZEN: "Identity check could not see a live face: the camera picture froze.",
    LIVENESS_FAILED: (
        "Identity check could not see a live face: no head turn or blink was seen in time."
    ),
    INTERRUPTED: "The identity check was interrupted.",
    INSECURE: INSECURE_WORDS,
    LOCKED: LOCKED_WORDS,
    NO_ANSWER: "The password confirmation was not answered in time.",
    UNAVAILABLE: MISSING_EXTRA,
    f"reason_{Problem.MULTIPLE_FACES}": (
        "Identity check saw more than one face: it compares only when you are alone."
    ),
}


def result_words(result: IdentityResult) -> str:
    """A check's or a prompt's result, for the page."""
    if result.outcome is Outcome.VERIFIED:
        return CONFIRMED
    if result.outcome is Outcome.MISMATCH:
        return "Identity not confirmed."
    for reason, words in _REASON_WORDS.items():
        if reason in result.reasons:
            return words
    return "Identity check could not see your face clearly (light, distance, facing)."


def challenge_words(window: FaceWindow) -> str:
    """What the page asks for: a cue, and first a comparable face if there is none yet."""
    if window.captures:
        return CHALLENGE
    hint = _FACE_HINTS.get(window.main_problem(), "please face the camera")
    if window.liveness().passed:
        return f"Identity check: {hint}."
    return f"Identity check: {hint}, then turn your head slightly to one side and back, or blink."


def tries_left(count: int) -> str:
    return f"That password was not right; {count} tries left."


def refused(reason: object) -> str:
    return f"The server refused: {reason}"


def enrolment_failed(reason: object) -> str:
    return f"Enrolment did not work: {reason}. Please try again."


def withdrawn(objected: bool) -> str:
    """Consent withdrawn by the worker (objected) or for the whole team."""
    return WITHDRAWN if objected else TEAM_OFF
