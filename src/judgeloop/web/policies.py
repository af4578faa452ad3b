"""Who may do what: the one place that turns a user and a project into permissions.

A user's role in a project comes from ``services.projects.member_role``: ``admin``
(global admins), ``owner`` (``project.owner_id`` or an owner membership), ``reviewer``
or ``worker``. Non-members get NotFound, so a project's existence is not revealed;
members asking for something their role does not allow get Forbidden.

================  =====  =====  ========  ======
permission        admin  owner  reviewer  worker
================  =====  =====  ========  ======
read project        x      x       x        x
update project      x      x
read progress       x      x       x
read guidelines     x      x       x        x
edit guidelines     x      x
read/add members    x      x
read items          x      x       x        x
read gold, is_gold  x      x
see model names     x      x       (only when the project does not hide them)
submit              x      x       x        x
read all subs       x      x       x        (workers: only their own)
import, export      x      x
================  =====  =====  ========  ======
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from judgeloop.errors import Forbidden, NotFound
from judgeloop.services.items import get_item
from judgeloop.services.projects import get_project, member_role
from judgeloop.services.submissions import get_submission
from judgeloop.store.models import Item, Project, Submission, User


class Perm(StrEnum):
    """Something a member may be allowed to do in a project."""

    READ_PROJECT = "project.read"
    UPDATE_PROJECT = "project.update"
    READ_PROGRESS = "project.progress"
    READ_GUIDELINES = "guidelines.read"
    EDIT_GUIDELINES = "guidelines.edit"
    MANAGE_MEMBERS = "members.manage"
    READ_ITEMS = "items.read"
    READ_GOLD = "items.gold"
    SEE_MODELS = "items.models"
    SUBMIT = "submissions.create"
    READ_ALL_SUBMISSIONS = "submissions.read_all"
    IMPORT = "project.import"
    EXPORT = "project.export"


_MEMBER = frozenset({Perm.READ_PROJECT, Perm.READ_GUIDELINES, Perm.READ_ITEMS, Perm.SUBMIT})
_REVIEWER = _MEMBER | {Perm.READ_PROGRESS, Perm.READ_ALL_SUBMISSIONS}

ROLE_PERMS: dict[str, frozenset[Perm]] = {
    "admin": frozenset(Perm),
    "owner": frozenset(Perm),
    "reviewer": _REVIEWER,
    "worker": _MEMBER,
}

PROJECT_CREATORS = frozenset({"admin", "owner"})


@dataclass(frozen=True)
class ProjectAccess:
    """A user's standing in one project, and the questions asked of it."""

    project: Project
    user: User
    role: str

    def can(self, perm: Perm) -> bool:
        """Tell whether the user's role allows `perm`."""
        return perm in ROLE_PERMS.get(self.role, frozenset())

    def require(self, perm: Perm) -> ProjectAccess:
        """Return self when `perm` is allowed.

        Raises:
            Forbidden: The role does not allow it.
        """
        if not self.can(perm):
            raise Forbidden(f"a {self.role} of project {self.project.slug} may not do this")
        return self

    @property
    def sees_models(self) -> bool:
        """Whether model names may be shown: always unless the project hides them."""
        return not self.project.hide_model_identity or self.can(Perm.SEE_MODELS)

    def can_read_submission(self, submission: Submission) -> bool:
        """Tell whether the user may read this submission (workers: only their own)."""
        if submission.project_id != self.project.id:
            return False
        return self.can(Perm.READ_ALL_SUBMISSIONS) or submission.worker_id == self.user.id


def project_access(
    session: Session, *, user: User, ref: int | str, perm: Perm = Perm.READ_PROJECT
) -> ProjectAccess:
    """Look up a project by id or slug and check that `user` may do `perm` in it.

    Args:
        session: Database session.
        user: The caller.
        ref: Project id or slug.
        perm: The permission needed.

    Returns:
        The caller's access to the project.

    Raises:
        NotFound: No such project, or the caller is not a member.
        Forbidden: The caller is a member whose role does not allow `perm`.
    """
    project = get_project(session, ref)
    role = member_role(session, project=project, user=user)
    if role is None:
        raise NotFound(f"no project {ref!r}")
    return ProjectAccess(project=project, user=user, role=role).require(perm)


def item_access(
    session: Session, *, user: User, item_id: int, perm: Perm = Perm.READ_ITEMS
) -> tuple[Item, ProjectAccess]:
    """Look up an item and check that `user` may do `perm` in its project.

    Args:
        session: Database session.
        user: The caller.
        item_id: The item's id.
        perm: The permission needed in the item's project.

    Returns:
        The item and the caller's access to its project.

    Raises:
        NotFound: No such item, or the caller is not a member of its project.
        Forbidden: The caller's role does not allow `perm`.
    """
    item = get_item(session, item_id)
    try:
        access = project_access(session, user=user, ref=item.project_id, perm=perm)
    except NotFound:
        raise NotFound(f"no item {item_id}") from None
    return item, access


def submission_access(
    session: Session, *, user: User, submission_id: int
) -> tuple[Submission, ProjectAccess]:
    """Look up a submission the caller may read (workers: only their own).

    Raises:
        NotFound: No such submission, or the caller may not read it.
    """
    submission = get_submission(session, submission_id)
    try:
        access = project_access(session, user=user, ref=submission.project_id)
    except NotFound:
        access = None
    if access is None or not access.can_read_submission(submission):
        raise NotFound(f"no submission {submission_id}")
    return submission, access


def require_admin(user: User) -> None:
    """Allow admins only (creating and listing users).

    Raises:
        Forbidden: The user is not an admin.
    """
    if user.role != "admin":
        raise Forbidden("only an admin may do this")


def require_project_creator(user: User) -> None:
    """Allow users whose global role is admin or owner to create projects.

    Raises:
        Forbidden: The user is a reviewer or worker.
    """
    if user.role not in PROJECT_CREATORS:
        raise Forbidden("only admins and project owners may create projects")
