"""team names are unique within their site

- ``teams``: unique (``site_id``, ``name``), the unique index ``uq_teams_site_name``. Teams
  already sharing a name keep the oldest as it is; the later ones become ``Name (2)``,
  ``Name (3)``… A unique index, not a table constraint: on SQLite a constraint means
  rebuilding ``teams``, and dropping the old table would cascade to ``team_supervisors``.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

NAME_MAX = 200
teams = sa.table(
    "teams",
    sa.column("id", sa.Integer),
    sa.column("site_id", sa.Integer),
    sa.column("name", sa.String),
)


def _free_name(base: str, taken: set[str]) -> str:
    """``base (n)`` for the smallest n >= 2 not in ``taken`` (cut to fit the column)."""
    n = 2
    while True:
        suffix = f" ({n})"
        name = base[: NAME_MAX - len(suffix)] + suffix
        if name not in taken:
            return name
        n += 1


def rename_duplicates(conn: sa.Connection) -> None:
    rows = conn.execute(sa.select(teams.c.id, teams.c.site_id, teams.c.name).order_by(teams.c.id))
    taken: dict[int, set[str]] = {}
    seen: dict[int, set[str]] = {}
    listed = list(rows)
    for _, site, name in listed:
        taken.setdefault(site, set()).add(name)
    for team_id, site, name in listed:
        if name not in seen.setdefault(site, set()):
            seen[site].add(name)
            continue
        fresh = _free_name(name, taken[site])
        taken[site].add(fresh)
        seen[site].add(fresh)
        conn.execute(teams.update().where(teams.c.id == team_id).values(name=fresh))


def upgrade() -> None:
    rename_duplicates(op.get_bind())
    with op.batch_alter_table("teams") as batch:
        batch.create_index("uq_teams_site_name", ["site_id", "name"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("teams") as batch:
        batch.drop_index("uq_teams_site_name")
