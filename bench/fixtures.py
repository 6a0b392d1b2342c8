"""Which rows the shapes read, and the credentials ours needs to read them.

Rows are chosen by rule from the seeded city (deterministic for a given seed):
the building with the number of households closest to 25 that has an active head,
the district whose tree (streets, communities, grids, buildings, heads) is closest
to 1,200 objects, the non-anonymous petition with the longest timeline.
The building head and the first city admin get sign-in accounts with a password
made for this run; a DISPLAY token of the city is issued for the counts.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from pathlib import Path

from bench.database import BenchDatabase
from bench.shapes import Fixtures

NAME_PREFIX = "王晓"  # 731 people in the city-scale data set
HOUSEHOLDS = 25
TREE_OBJECTS = 1_200

BUILDING_SQL = """
SELECT b.id, p.person_id
  FROM building b
  JOIN position p ON p.building_id = b.id AND p.role = 'BUILDING_HEAD' AND p.ended_at IS NULL
  JOIN LATERAL (SELECT count(*) AS n FROM household h WHERE h.building_id = b.id) h ON true
 ORDER BY abs(h.n - %s), b.id
 LIMIT 1
"""

DISTRICT_SQL = """
SELECT d.code
  FROM org_unit d
  JOIN LATERAL (
    SELECT (SELECT count(*) FROM org_unit u
             WHERE u.path <@ d.path AND u.id <> d.id AND u.retired_at IS NULL)
         + (SELECT count(*) FROM building b WHERE b.path <@ d.path)
         + (SELECT count(*) FROM position p
             WHERE p.path <@ d.path AND p.role = 'BUILDING_HEAD' AND p.ended_at IS NULL) AS n
  ) size ON true
 WHERE d.kind = 'DISTRICT'
 ORDER BY abs(size.n - %s), d.code
 LIMIT 1
"""

PETITION_SQL = """
SELECT p.id
  FROM petition p JOIN petition_event e ON e.petition_id = p.id
 WHERE NOT p.anonymous
 GROUP BY p.id
 ORDER BY count(*) DESC, p.id
 LIMIT 1
"""

CITY_ADMIN_SQL = """
SELECT person_id FROM position
 WHERE role = 'CITY_ADMIN' AND ended_at IS NULL
 ORDER BY person_id LIMIT 1
"""

ACCOUNT_SQL = """
INSERT INTO account (person_id, phone, password_hash)
SELECT id, phone, %(hash)s FROM person WHERE id = %(person)s
ON CONFLICT (person_id) DO UPDATE
   SET password_hash = excluded.password_hash, failed_attempts = 0, locked_until = NULL,
       disabled_at = NULL
RETURNING phone
"""


@dataclass(frozen=True)
class Credentials:
    """Phone and password per person actor, and the DISPLAY token (all for this run only)."""

    logins: dict[str, tuple[str, str]]  # actor -> (phone, password)
    display_token: str


def prepare(db: BenchDatabase) -> tuple[Fixtures, Credentials]:
    from resolvers.identity import hash_password
    from schema.relay import to_global_id
    from seeds.tokens import issue_token

    search_sql = (Path(__file__).parent / "postgraphile" / "search.sql").read_text()
    with db.connect() as conn:
        conn.execute(search_sql)
        city = conn.execute("SELECT code FROM org_unit WHERE kind = 'CITY'").fetchone()
        building = conn.execute(BUILDING_SQL, (HOUSEHOLDS,)).fetchone()
        district = conn.execute(DISTRICT_SQL, (TREE_OBJECTS,)).fetchone()
        petition = conn.execute(PETITION_SQL).fetchone()
        admin = conn.execute(CITY_ADMIN_SQL).fetchone()
        if not (city and building and district and petition and admin):
            raise SystemExit("the bench database lacks the city-scale rows the shapes read")
        logins: dict[str, tuple[str, str]] = {}
        for actor, person in (("BUILDING_HEAD", building[1]), ("CITY_ADMIN", admin[0])):
            password = secrets.token_urlsafe(16)
            row = conn.execute(
                ACCOUNT_SQL, {"hash": hash_password(password), "person": person}
            ).fetchone()
            if row is None:
                raise SystemExit(f"person {person} ({actor}) has no phone to sign in with")
            logins[actor] = (str(row[0]), password)
    display = asyncio.run(issue_token(db.uri, str(city[0]), "DISPLAY", "make bench", 1))
    fixtures = Fixtures(
        city_code=str(city[0]),
        building_id=int(building[0]),
        building_global_id=str(to_global_id("Building", int(building[0]))),
        district_code=str(district[0]),
        petition_id=int(petition[0]),
        petition_global_id=str(to_global_id("Petition", int(petition[0]))),
        name_prefix=NAME_PREFIX,
    )
    return fixtures, Credentials(logins=logins, display_token=display)
