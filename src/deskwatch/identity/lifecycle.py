"""Consent and the face template's life: kept after an enrolment, gone when the worker
declines, deletes it or withdraws consent, and "not enrolled" told to the server once.

Everything here is the store's files; the template itself never leaves this PC. A
password choice is no biometric data: withdrawing consent leaves it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from deskwatch.identity.check import Method
from deskwatch.identity.store import Choice, StoreStatus, TemplateError, TemplateStore

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from deskwatch.identity.enrolment import EnrolmentWindow


@dataclass
class TemplateLifecycle:
    """The worker's consent and template, and whether "not enrolled" was said."""

    store: TemplateStore
    consenting: bool = False  # the worker agreed; the page asks for their password
    was_enrolled: bool | None = None  # at the last look (None: not looked yet)
    told_not_enrolled: bool = False

    def status(self) -> StoreStatus:
        return self.store.status()

    def left_open(self) -> Method | None:
        """The method of a check the last run left open (killed?), forgotten now."""
        left = self.store.take_open()
        return None if left is None else Method(left)

    def mark_open(self, method: Method | None) -> None:
        self.store.mark_open(None if method is None else method.value)

    def load(self) -> NDArray[np.float32]:
        """The template; TemplateError if it is gone or does not open."""
        return self.store.load()

    def deleted_since_last_look(self) -> bool:
        """True once the template is gone (page, CLI or by hand) since the last look; then
        "not enrolled" may be said again."""
        enrolled = self.status().enrolled
        was, self.was_enrolled = self.was_enrolled, enrolled
        if was and not enrolled:
            self.told_not_enrolled = False
            return True
        return False

    def tell_not_enrolled(self) -> bool:
        """True the first time "not enrolled" is to be said (since the last template)."""
        if self.told_not_enrolled:
            return False
        self.told_not_enrolled = True
        return True

    def keep(self, window: EnrolmentWindow) -> str:
        """Save the enrolment's template; "" when kept, else why not (the TemplateError)."""
        from deskwatch.identity.enrolment import template_of

        try:
            self.store.save(template_of(window))
        except TemplateError as exc:
            return str(exc)
        self.was_enrolled, self.told_not_enrolled = True, False
        return ""

    def decline(self) -> None:
        """No biometrics: the template goes (if any), passwords from now on."""
        self.consenting = False
        self.store.delete(Choice.PASSWORD)
        self.was_enrolled = False

    def erase(self) -> bool:
        """The worker deletes their template; True if there was one."""
        self.consenting = False
        had = self.store.delete(Choice.NONE)
        if had:
            self.was_enrolled, self.told_not_enrolled = False, False
        return had

    def withdraw(self) -> None:
        """Consent withdrawn: the template is deleted, "not enrolled" to be said again."""
        self.store.delete(Choice.NONE)
        self.was_enrolled, self.told_not_enrolled = False, False
