"""The navigation: which areas each role opens, in one list.

Why one list: the layout draws it, the home page picks the first item a user's roles allow, and part 2
(audit's and finance's pages) adds its entries here. A page's own check is its ``role(...)`` dependency;
this list only decides what is offered.
"""

from __future__ import annotations

from dataclasses import dataclass

from workspace.users import User


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    roles: frozenset[str]


NAV: tuple[NavItem, ...] = (
    NavItem("My cases", "/cases", frozenset({"safeguarding"})),
    NavItem("Finance", "/finance", frozenset({"finance"})),
    NavItem("Access log", "/access-log", frozenset({"admin", "audit"})),
    NavItem("Users", "/admin/users", frozenset({"admin"})),
)


def items_for(user: User | None) -> list[NavItem]:
    if user is None:
        return []
    return [item for item in NAV if item.roles & user.roles]


def home_for(user: User) -> str:
    """Where a user lands after signing in: their first area."""
    items = items_for(user)
    return items[0].href if items else "/account"
