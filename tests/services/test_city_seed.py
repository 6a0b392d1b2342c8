"""The city-scale services loader, run on the demo city with small targets (its services
taken away first, in a transaction rolled back): the figures come out exact, every row is
consistent, the ledger's totals are the sums of its lines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from seeds.demo import DemoCity
from seeds.services import ServiceTargets, load_city_services

SMALL = ServiceTargets(
    stations=6,
    party_property_companies=4,
    other_property_companies=2,
    running_teams=5,
    cadre_services=60,
    cadre_good_deeds=25,
    activities=40,
    volunteers=600,
    handled_orders=230,
    open_orders=40,
    wulibei_teams=7,
    wulibei_members=30,
    lingxi_cadres=5,
    lingxi_visits=20,
    lingxi_disputes=6,
    other_visits=150,
    party_posts=20,
)
SERVICE_TABLES = (
    "emergency_roster", "emergency_period", "visit_finding", "door_visit", "volunteer_total",
    "volunteer_hours", "activity_signup", "volunteer_activity_event", "volunteer_activity",
    "service_rating", "service_order_event", "service_order", "party_post", "service_item",
    "team_member", "service_team", "station_manager", "station_building", "service_station",
)  # fmt: skip


@pytest.fixture
def bare_city(database_uri: str, demo: DemoCity) -> Iterator[psycopg.Connection[Any]]:
    """The demo city without its services (undone afterwards)."""
    with psycopg.connect(database_uri) as conn:
        conn.execute("SET LOCAL session_replication_role = replica")
        for table in SERVICE_TABLES:
            conn.execute(f"DELETE FROM {table}")
        conn.execute("UPDATE building SET estate_id = NULL, latitude = NULL, longitude = NULL")
        conn.execute("DELETE FROM estate")
        conn.execute("DELETE FROM property_company")
        conn.execute("SET LOCAL session_replication_role = origin")
        yield conn
        conn.rollback()


def test_the_figures_come_out_exact(bare_city: psycopg.Connection[Any]) -> None:
    conn = bare_city
    until = datetime(2026, 6, 1, tzinfo=UTC)
    load_city_services(conn, until=until, seed=11, targets=SMALL)

    def one(statement: str) -> Any:
        row = conn.execute(statement).fetchone()
        assert row is not None
        return row[0]

    assert one("SELECT count(*) FROM service_station") == SMALL.stations
    assert one("SELECT count(*) FROM property_company WHERE has_party_organisation") == 4
    assert one("SELECT count(*) FROM service_team WHERE kind = 'RED_RUNNING'") == 5
    assert (
        one(
            """SELECT count(*) FROM service_order
                WHERE status IN ('DONE', 'CLOSED', 'CLOSED_UNRATED')"""
        )
        == SMALL.handled_orders
    )
    assert one("SELECT count(*) FROM volunteer_hours WHERE as_cadre AND kind = 'SERVICE'") == 60
    assert one("SELECT count(*) FROM volunteer_hours WHERE as_cadre AND kind = 'GOOD_DEED'") == 25
    assert one("SELECT count(*) FROM volunteer_activity") == SMALL.activities
    assert one("SELECT count(DISTINCT person_id) FROM volunteer_hours") == SMALL.volunteers
    wulibei = "(SELECT path FROM org_unit WHERE name = '五里碑社区')"
    teams = f"SELECT id FROM service_team WHERE path = {wulibei} AND kind = 'VOLUNTEER'"
    assert one(f"SELECT count(*) FROM ({teams}) t") == 7
    assert (
        one(f"SELECT count(*) FROM team_member WHERE team_id IN ({teams})") == SMALL.wulibei_members
    )
    lingxi = "(SELECT path FROM org_unit WHERE name = '灵犀社区')"
    assert one(f"SELECT count(*) FROM door_visit WHERE path <@ {lingxi}") == 20
    assert (
        one(
            f"""SELECT count(*) FROM visit_finding WHERE path <@ {lingxi}
                 AND kind = 'DISPUTE' AND resolved_at IS NOT NULL"""
        )
        == SMALL.lingxi_disputes
    )
    # consistent rows: timelines end at each order's status and version
    assert (
        one(
            """SELECT count(*) FROM service_order o JOIN LATERAL (
                 SELECT to_status, version FROM service_order_event e WHERE e.order_id = o.id
                  ORDER BY e.version DESC LIMIT 1) last ON true
                WHERE last.to_status <> o.status OR last.version <> o.version"""
        )
        == 0
    )
    # the ledger's totals are the sums of its lines; every building has coordinates
    assert (
        one(
            """SELECT count(*) FROM volunteer_total t JOIN (SELECT person_id, sum(minutes) m,
                 count(*) n FROM volunteer_hours GROUP BY person_id) s USING (person_id)
                WHERE (t.minutes, t.entries) <> (s.m, s.n)"""
        )
        == 0
    )
    assert one("SELECT count(*) FROM building WHERE latitude IS NULL") == 0
    assert one("SELECT count(*) FROM building WHERE estate_id IS NOT NULL") > 0
    # ids continue after the load
    assert one("SELECT nextval(pg_get_serial_sequence('service_order', 'id'))") > one(
        "SELECT max(id) FROM service_order"
    )
