"""Who may open a web page: ``require_web(*roles)``, the one check every page depends on.

Anonymous visitors (or switched-off users) are sent to the login page; a user whose role
may not see the page gets 403 (or, for ``or_home``, is sent to their own home page)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, status

from deskwatch.server.deps import NowDep, SessionDep, SettingsDep, signed_in
from deskwatch.server.orgs.models import Role, User

NOT_ALLOWED = "not allowed for your role"


def home_of(user: User) -> str:
    if user.role == Role.AGENT:
        return f"/agents/{user.id}"
    if user.role == Role.PRIVACY_OFFICER:
        return "/privacy"
    return "/"


def web_user(request: Request, session: SessionDep, now: NowDep, settings: SettingsDep) -> User:
    user = signed_in(request, session, now=now, settings=settings)
    if user is None:
        asked = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        where = "/login" if asked == "/" else f"/login?next={quote(asked, safe='/')}"
        raise HTTPException(status.HTTP_303_SEE_OTHER, headers={"location": where})
    return user


def require_web(
    *roles: Role, detail: str = NOT_ALLOWED, or_home: bool = False
) -> Callable[[User], User]:
    """A page's dependency: the signed-in user, if their role is one of ``roles`` (any role
    when none are given)."""

    def check(user: Annotated[User, Depends(web_user)]) -> User:
        if roles and user.role not in roles:
            if or_home:
                raise HTTPException(status.HTTP_303_SEE_OTHER, headers={"location": home_of(user)})
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail)
        return user

    return check


WebUser = Annotated[User, Depends(require_web())]
AgentPage = Annotated[User, Depends(require_web(Role.AGENT))]
OverseerPage = Annotated[User, Depends(require_web(Role.SUPERVISOR, Role.ADMIN))]
BoardPage = Annotated[User, Depends(require_web(Role.SUPERVISOR, Role.ADMIN, or_home=True))]
AuditPage = Annotated[User, Depends(require_web(Role.ADMIN, Role.PRIVACY_OFFICER))]
PrivacyPage = Annotated[User, Depends(require_web(Role.PRIVACY_OFFICER, Role.ADMIN))]
OfficerPage = Annotated[User, Depends(require_web(Role.PRIVACY_OFFICER))]
CategoriesPage = Annotated[
    User, Depends(require_web(Role.ADMIN, Role.PRIVACY_OFFICER, Role.SUPERVISOR))
]
CategoryForm = Annotated[User, Depends(require_web(Role.ADMIN))]
AdminPage = Annotated[User, Depends(require_web(Role.ADMIN, detail="admins only"))]
