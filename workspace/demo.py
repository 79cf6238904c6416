"""Demo users for ``make serve``: one per role on the demo database, with passwords printed once.

Why new passwords on every start: the demo's passwords are shown on the terminal and nowhere else; a
second start shows a second set rather than keeping the first anywhere. Never for a council's database:
``careledger serve --demo`` refuses a database that has users other than these.
"""

from __future__ import annotations

import secrets

from sqlalchemy import Connection, select

from records.reference import council_teams
from records.tables import ref_councils
from workspace.tables import workspace_users
from workspace.users import UserError, add_user, list_users, set_password

DEMO_USERS = (  # username, name, role
    ("demo.lead", "Sam Okafor (demo safeguarding lead)", "safeguarding"),
    ("demo.audit", "Priya Shah (demo auditor)", "audit"),
    ("demo.finance", "Tom Reilly (demo finance officer)", "finance"),
    ("demo.admin", "Alex Morgan (demo admin)", "admin"),
)
ACTOR = "demo"


def ensure_demo_users(conn: Connection) -> list[tuple[str, str, str]]:
    """Create (or re-enable and re-key) the demo users; returns (username, role, password) to print once.
    The safeguarding lead gets every team of the demo councils."""
    councils = sorted(r[0] for r in conn.execute(select(ref_councils.c.name)))
    if not councils:
        raise UserError("the database has no council yet: run `make demo` first")
    names = {u for u, _, _ in DEMO_USERS}
    others = sorted(u.username for u in list_users(conn) if u.username not in names)
    if others:
        raise UserError(f"this database has real users ({', '.join(others[:5])}): --demo is for the demo database only")
    teams = council_teams(conn, councils)
    if not teams:
        raise UserError("the database's cardholders name no team: run `make demo` first")
    out = []
    for username, display, role in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        if conn.execute(select(workspace_users.c.user_id).where(workspace_users.c.username == username)).first():
            set_password(conn, username, password, actor=ACTOR)
            conn.execute(workspace_users.update().where(workspace_users.c.username == username)
                         .values(active=True, disabled_at=None, disabled_by=None))
        else:
            add_user(conn, username, display, password, roles=[role], councils=councils,
                     teams=teams if role == "safeguarding" else (), actor=ACTOR)
        out.append((username, role, password))
    return out
