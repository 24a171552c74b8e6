"""Where each SCIM attribute lives in the tables: columns, side tables, or the JSON document.

The compiler in `sql_filter` asks this map for SQL; anything not listed here is read from the
`doc` column by its JSON path, so every attribute the schemas publish can be filtered.
"""

from __future__ import annotations

from attrs import frozen


@frozen
class Column:
    """A scalar in SQL. `lowered`: stored lower-cased, so compare with a lower-cased value."""

    sql: str
    lowered: bool = False
    kind: str = "string"  # string boolean dateTime


@frozen
class SideTable:
    """A multi-valued attribute kept in its own table, one row per value."""

    from_sql: str  # FROM … (with JOINs) naming the element rows
    link: str  # the condition tying the element rows to the resource row
    columns: dict  # sub-attribute name -> Column
    first_order: str  # ORDER BY picking the value to sort by (the primary, else the first)


@frozen
class ResourceTable:
    table: str
    alias: str
    doc: str  # the JSON document column
    columns: dict  # (attr, sub) -> Column, for core-schema and common attributes
    side_tables: dict  # attr -> SideTable
    resource_type_name: str
    order: str  # the stable creation order


def _meta(alias: str) -> dict:
    return {
        ("id", None): Column(f"{alias}.id"),
        ("externalId", None): Column(f"{alias}.external_id"),
        ("meta", "created"): Column(f"{alias}.created_at", kind="dateTime"),
        ("meta", "lastModified"): Column(f"{alias}.updated_at", kind="dateTime"),
    }


USERS = ResourceTable(
    table="users",
    alias="u",
    doc="u.doc",
    columns={
        **_meta("u"),
        ("userName", None): Column("u.user_name_lower", lowered=True),
        ("displayName", None): Column("u.display_name_lower", lowered=True),
        ("active", None): Column("u.active", kind="boolean"),
    },
    side_tables={
        "emails": SideTable(
            from_sql="user_emails e",
            link="e.user_id = u.id",
            columns={
                "value": Column("e.value_lower", lowered=True),
                "type": Column("e.type"),
                "display": Column("e.display"),
                "primary": Column("e.is_primary", kind="boolean"),
            },
            first_order="COALESCE(e.is_primary, FALSE) DESC, e.position",
        ),
        "groups": SideTable(
            from_sql="team_members gm JOIN teams gt ON gt.id = gm.team_id",
            link="gm.user_id = u.id",
            columns={
                "value": Column("gm.team_id"),
                "display": Column("gt.display_name"),
                "type": Column("'direct'"),
            },
            first_order="gt.display_name_lower",
        ),
    },
    resource_type_name="User",
    order="u.seq",
)

TEAMS = ResourceTable(
    table="teams",
    alias="t",
    doc="t.doc",
    columns={
        **_meta("t"),
        ("displayName", None): Column("t.display_name_lower", lowered=True),
    },
    side_tables={
        "members": SideTable(
            from_sql="team_members tm JOIN users mu ON mu.id = tm.user_id",
            link="tm.team_id = t.id",
            columns={
                "value": Column("tm.user_id"),
                "display": Column("COALESCE(mu.display_name, mu.user_name)"),
                "type": Column("'User'"),
            },
            first_order="mu.seq",
        ),
    },
    resource_type_name="Group",
    order="t.seq",
)
