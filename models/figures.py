"""Display figures kept current: counts per node of the administrative tree, maintained by
PostgreSQL in the same transaction as every change.

`FIGURES` is the one place a figure is declared: what it counts (a table, a condition over its
columns, optionally a column counted once per node) and whether it counts places (structure,
shown to displays as it is) or people and cases (small cells withheld from displays). From it
come the triggers and the full recompute, installed by migration 0005 and re-installed by
`ensure_figures` (run by every `migrate`) whenever the declarations change. Adding a figure is
one entry here.

`figure_count` holds one row per (node, figure): the rows under that node (an org unit's path)
matching the figure. Statement-level triggers with transition tables fold each statement's inserted,
deleted and updated rows (an update that moves a row counts -1 at its old path and +1 at the
new one) into the counts of every org-unit prefix of the row's `path`, so COPY and bulk
updates cost one aggregate each, and a figures query for any node reads a handful of rows.
Counts of distinct members (people holding a position, work units paired) keep a
multiplicity per (node, member) in `figure_member`; the count moves when one goes 0 <-> 1.
Every node whose counts changed is announced on NOTIFY `live_figures`.

Bulk loads set `app.bulk_load = on` (the triggers then do nothing) and call
`figures_recompute()` once at the end.
"""

# ruff: noqa: S608  (the SQL below is built from the declarations in FIGURES, never from input)

from __future__ import annotations

import enum
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from models.base import Ltree
from models.live import BULK_SETTING, FIGURES_CHANNEL
from models.petitions import OPEN_STATUSES_SQL


class Counted(enum.StrEnum):
    PLACES = "PLACES"  # structure: org units, buildings, Party organisations, work units
    PEOPLE = "PEOPLE"  # people, households, positions held, cases: small cells withheld


@dataclass(frozen=True)
class Figure:
    key: str
    #: what a big screen calls it
    label: str
    table: str
    #: SQL over the table's columns: which rows count
    where: str
    counted: Counted
    #: a column counted once per node (a person holding two posts in a subtree counts once)
    distinct: str | None = None
    #: the figure this one is a subset of (the rest is a cell displays must not work out)
    part_of: str | None = None


_HANDLED = "'RESOLVED', 'NOT_RESOLVABLE', 'CLOSED', 'CLOSED_UNRATED'"
_P, _C = Counted.PLACES, Counted.PEOPLE

#: The headline figures of the seed text (红色美丽楼栋), in the order a screen shows them.
FIGURES: tuple[Figure, ...] = (
    Figure("grids", "城市社区网格", "org_unit", "kind = 'GRID' AND retired_at IS NULL", _P),
    Figure("grid_party_orgs", "网格党组织", "party_organisation", "kind = 'GRID_PARTY_ORG'", _P),
    Figure("party_groups", "楼栋党小组", "party_organisation", "kind = 'BUILDING_PARTY_GROUP'", _P),
    Figure("buildings", "楼栋", "building", "true", _P),
    Figure(
        "building_heads",
        "楼栋长",
        "position",
        "role = 'BUILDING_HEAD' AND ended_at IS NULL",
        _C,
        distinct="person_id",
    ),
    Figure(
        "central_households",
        "党员中心户",
        "central_household",
        "ended_at IS NULL",
        _C,
        part_of="households",
    ),
    Figure(
        "registered_party_members",
        "在职党员报到",
        "position",
        "role = 'REGISTERED_PARTY_MEMBER' AND ended_at IS NULL",
        _C,
        distinct="person_id",
    ),
    Figure(
        "seconded_cadres",
        "下沉干部",
        "position",
        "role = 'SECONDED_CADRE' AND ended_at IS NULL",
        _C,
        distinct="person_id",
    ),
    Figure(
        "paired_work_units",
        "双报到单位",
        "work_unit_pairing",
        "ended_at IS NULL",
        _P,
        distinct="work_unit_id",
    ),
    Figure("households", "住户", "household", "true", _C),
    Figure("residents", "居民", "person", "true", _C),
    Figure("party_members", "党员", "person", "is_party_member", _C, part_of="residents"),
    Figure("petitions", "诉求", "petition", "true", _C),
    Figure(
        "petitions_handled",
        "处置诉求",
        "petition",
        f"status IN ({_HANDLED})",
        _C,
        part_of="petitions",
    ),
    Figure(
        "petitions_open",
        "办理中诉求",
        "petition",
        f"status IN ({OPEN_STATUSES_SQL})",
        _C,
        part_of="petitions",
    ),
    # Services and incentives: the places that serve (as `OrgUnit.serviceStats` counts them).
    # Their counts of people and cases (orders, visits, hours, redemptions) pass the small-cell
    # rules of `serviceStats` and `engagementFigures`, which decide them over their own lines.
    Figure("stations", "红城驿站", "service_station", "true", _P),
    Figure("teams", "红色跑团·志愿服务队", "service_team", "disbanded_at IS NULL", _P),
    Figure("estates", "小区", "estate", "true", _P),
    Figure("unmanaged_estates", "无物业小区", "estate", "property_company_id IS NULL", _P),
    Figure(
        "party_property_companies", "红色物业", "property_company", "has_party_organisation", _P
    ),
    Figure("activities", "志愿服务活动", "volunteer_activity", "status <> 'CANCELLED'", _P),
    Figure("shops", "红城星店·睦邻店铺", "shop", "closed_at IS NULL", _P),
)
BY_KEY: dict[str, Figure] = {f.key: f for f in FIGURES}


class FigureCount(SQLModel, table=True):
    """Keyed by `node`, not `path`: moving a subtree re-paths every `path` column in one
    statement each (`resolvers.org.move_org_unit`), while these counts move with the rows
    they count, through the triggers."""

    __tablename__ = "figure_count"

    node: str = Field(sa_column=sa.Column(Ltree(), primary_key=True))
    figure: str = Field(sa_column=sa.Column(sa.Text, primary_key=True))
    n: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))


class FigureMember(SQLModel, table=True):
    """How many rows under a node name each member of a distinct figure (0: not counted)."""

    __tablename__ = "figure_member"

    node: str = Field(sa_column=sa.Column(Ltree(), primary_key=True))
    figure: str = Field(sa_column=sa.Column(sa.Text, primary_key=True))
    member: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True))
    n: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))


class FigureDefinition(SQLModel, table=True):
    """One row: the digest of the installed triggers (re-installed when `FIGURES` changes)."""

    __tablename__ = "figure_definition"
    __table_args__ = (sa.CheckConstraint("id = 1", name="ck_figure_definition_one_row"),)

    id: int = Field(default=1, sa_column=sa.Column(sa.Integer, primary_key=True))
    digest: str = Field(sa_column=sa.Column(sa.Text, nullable=False))


# --- the SQL derived from FIGURES ----------------------------------------------------------

#: Every org-unit prefix of a path (the leading numeric labels: buildings are `b7`,
#: households `h55`).
PREFIXES_FUNCTION = """
CREATE OR REPLACE FUNCTION figure_prefixes(p ltree) RETURNS SETOF ltree
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT subpath(p, 0, k) FROM generate_series(1, nlevel(p)) AS k
     WHERE subpath(p, k - 1, 1)::text ~ '^[0-9]+$'
$$;
"""


def _by_table(declared: tuple[Figure, ...]) -> dict[str, list[Figure]]:
    found: dict[str, list[Figure]] = defaultdict(list)
    for figure in declared:
        found[figure.table].append(figure)
    return dict(found)


def _hits(figures: list[Figure], source: str, delta: str) -> str:
    """Rows of (prefix, figure[, member]) with their summed delta, from `source` rows."""
    distinct = figures[0].distinct is not None
    member = ", f.figure_member" if distinct else ""
    values = ", ".join(
        f"('{f.key}', ({f.where}){', ' + f.distinct if f.distinct else ''})" for f in figures
    )
    columns = "figure_key, figure_hit" + (", figure_member" if distinct else "")
    group = "1, 2, 3" if distinct else "1, 2"
    return (
        f"SELECT p.figure_prefix, f.figure_key{member}, sum({delta}) AS figure_delta"
        f" FROM {source} c"
        f" CROSS JOIN LATERAL (VALUES {values}) AS f({columns})"
        " CROSS JOIN LATERAL figure_prefixes(c.path) AS p(figure_prefix)"
        f" WHERE f.figure_hit GROUP BY {group}"
    )


_NOTIFY = (
    f" SELECT count(pg_notify('{FIGURES_CHANNEL}', x.path::text)) INTO notified"
    " FROM (SELECT DISTINCT node AS path FROM done) x;"
)


def _plain_statement(figures: list[Figure], changed: str) -> str:
    return (
        f"WITH changed AS ({changed}),"
        f" hits AS ({_hits(figures, 'changed', 'c.figure_delta')}"
        " HAVING sum(c.figure_delta) <> 0),"
        " done AS (INSERT INTO figure_count AS fc (node, figure, n)"
        " SELECT figure_prefix, figure_key, figure_delta FROM hits ORDER BY 1, 2"
        " ON CONFLICT (node, figure) DO UPDATE SET n = fc.n + excluded.n"
        " RETURNING fc.node)" + _NOTIFY
    )


def _distinct_statement(figures: list[Figure], changed: str) -> str:
    return (
        f"WITH changed AS ({changed}),"
        f" members AS ({_hits(figures, 'changed', 'c.figure_delta')}"
        " HAVING sum(c.figure_delta) <> 0),"
        " moved AS (INSERT INTO figure_member AS fm (node, figure, member, n)"
        " SELECT figure_prefix, figure_key, figure_member, figure_delta FROM members"
        " ORDER BY 1, 2, 3"
        " ON CONFLICT (node, figure, member) DO UPDATE SET n = fm.n + excluded.n"
        " RETURNING fm.node, fm.figure, fm.member, fm.n),"
        " counted AS (SELECT m.node, m.figure,"
        " sum((m.n > 0)::int - ((m.n - x.figure_delta) > 0)::int) AS dn"
        " FROM moved m JOIN members x ON x.figure_prefix = m.node"
        " AND x.figure_key = m.figure AND x.figure_member = m.member GROUP BY 1, 2),"
        " done AS (INSERT INTO figure_count AS fc (node, figure, n)"
        " SELECT node, figure, dn FROM counted WHERE dn <> 0 ORDER BY 1, 2"
        " ON CONFLICT (node, figure) DO UPDATE SET n = fc.n + excluded.n"
        " RETURNING fc.node)" + _NOTIFY
    )


def _groups(figures: list[Figure]) -> list[list[Figure]]:
    """Plain figures together; each distinct column its own statement."""
    plain = [f for f in figures if f.distinct is None]
    by_member: dict[str, list[Figure]] = defaultdict(list)
    for f in figures:
        if f.distinct is not None:
            by_member[f.distinct].append(f)
    return ([plain] if plain else []) + list(by_member.values())


def _statements(figures: list[Figure], changed: str) -> str:
    return "\n        ".join(
        (_distinct_statement(g, changed) if g[0].distinct else _plain_statement(g, changed))
        for g in _groups(figures)
    )


def _trigger_function(table: str, figures: list[Figure]) -> str:
    inserted = "SELECT r.*, 1 AS figure_delta FROM new_rows r"
    deleted = "SELECT r.*, -1 AS figure_delta FROM old_rows r"
    return f"""
CREATE FUNCTION figures_{table}_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE notified bigint;
BEGIN
    IF current_setting('{BULK_SETTING}', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        {_statements(figures, inserted)}
    ELSIF TG_OP = 'DELETE' THEN
        {_statements(figures, deleted)}
    ELSE
        {_statements(figures, inserted + " UNION ALL " + deleted)}
    END IF;
    RETURN NULL;
END $fn$;
CREATE TRIGGER figures_{table}_insert AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION figures_{table}_change();
CREATE TRIGGER figures_{table}_update AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION figures_{table}_change();
CREATE TRIGGER figures_{table}_delete AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION figures_{table}_change();
"""


def _recompute_function(declared: tuple[Figure, ...]) -> str:
    statements: list[str] = ["TRUNCATE figure_count, figure_member;"]
    distinct_keys: list[str] = []
    for table, figures in _by_table(declared).items():
        for group in _groups(figures):
            hits = _hits(group, table, "1")
            if group[0].distinct is None:
                statements.append(f"INSERT INTO figure_count (node, figure, n) {hits};")
            else:
                distinct_keys += [f.key for f in group]
                statements.append(f"INSERT INTO figure_member (node, figure, member, n) {hits};")
    if distinct_keys:
        keys = ", ".join(f"'{k}'" for k in distinct_keys)
        statements.append(
            "INSERT INTO figure_count (node, figure, n) SELECT node, figure, count(*)"
            f" FROM figure_member WHERE figure IN ({keys}) AND n > 0 GROUP BY 1, 2;"
        )
    body = "\n    ".join(statements)
    return f"""
CREATE OR REPLACE FUNCTION figures_recompute() RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    {body}
    PERFORM pg_notify('{FIGURES_CHANNEL}', '*');
END $fn$;
"""


#: Drops every figure trigger and trigger function, whichever figures they were made for.
DROP_TRIGGERS = """
DO $do$
DECLARE t record;
BEGIN
    FOR t IN SELECT tgname, tgrelid::regclass AS rel FROM pg_trigger
              WHERE tgname LIKE 'figures\\_%' AND NOT tgisinternal LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', t.tgname, t.rel);
    END LOOP;
    FOR t IN SELECT p.oid::regprocedure AS fn FROM pg_proc p
              WHERE p.proname LIKE 'figures\\_%\\_change' LOOP
        EXECUTE format('DROP FUNCTION %s', t.fn);
    END LOOP;
END $do$;
"""


@lru_cache(maxsize=4)
def install_sql(keys: tuple[str, ...] | None = None) -> str:
    """Everything the figures need beyond their tables: functions and triggers, for every
    figure or (a migration, whose later tables do not exist yet) for those named."""
    declared = FIGURES if keys is None else tuple(BY_KEY[k] for k in keys)
    parts = [PREFIXES_FUNCTION, DROP_TRIGGERS, _recompute_function(declared)]
    parts += [_trigger_function(t, figures) for t, figures in _by_table(declared).items()]
    return "\n".join(parts)


def digest(keys: tuple[str, ...] | None = None) -> str:
    return hashlib.sha256(install_sql(keys).encode()).hexdigest()


def ensure_figures(libpq_uri: str) -> bool:
    """Install the triggers and recompute every count when `FIGURES` changed since they were
    installed; True when it did. Safe to run from several processes at once."""
    import psycopg

    wanted = digest()
    with psycopg.connect(libpq_uri) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('figures.install'))")
        row = conn.execute("SELECT digest FROM figure_definition WHERE id = 1").fetchone()
        if row is not None and row[0] == wanted:
            return False
        conn.execute(install_sql().encode())
        conn.execute("SELECT figures_recompute()")
        conn.execute(
            "INSERT INTO figure_definition (id, digest) VALUES (1, %s)"
            " ON CONFLICT (id) DO UPDATE SET digest = excluded.digest",
            (wanted,),
        )
    return True
