"""Sign-in gives nothing away and locks nobody out: one answer for unknown phones, wrong
passwords, disabled accounts and held-back attempts; back-offs per phone and client
address and per address; the holder and their admins learn of it by other paths."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models.identity import Account, parse_networks
from resolvers import identity as ri
from schema.auth import client_address
from seeds.accounts import DEMO_PASSWORD
from seeds.demo import DemoCity
from tests.conftest import GraphQLClient, scalar
from tests.identity.support import FromAddress, Settings
from tests.permissions.support import codes, gid, mutation, rows

SESSION = "accessToken refreshToken expiresAt"
UNKNOWN_PHONE = "19900000001"
ATTACKER = "203.0.113.66"
HOLDER = "198.51.100.20"
SECURITY = "security { failedSignIns lastFailedSignInAt lockedUntil lastSignedInAt }"
REFUSED = {
    "accessToken": None,
    "refreshToken": None,
    "expiresAt": None,
    "errors": [
        {
            "code": "INVALID_CREDENTIALS",
            "field": None,
            "message": "phone or password is wrong, or there were too many attempts: "
            "try again later",
        }
    ],
}


async def sign_in(client: GraphQLClient, phone: str, password: str) -> dict[str, Any]:
    return await mutation(
        client, "signIn", "SignInInput", {"phone": phone, "password": password}, SESSION
    )


def signed_in(payload: dict[str, Any]) -> GraphQLClient:
    assert payload["errors"] == [], payload
    return payload["accessToken"]  # type: ignore[no-any-return]


async def throttle_state(session: AsyncSession, phone: str) -> list[tuple[int, Any]]:
    found = await rows(
        session,
        "SELECT failures, blocked_until - now() FROM sign_in_throttle "
        "WHERE phone_key = :k ORDER BY failures",
        k=ri.phone_key(phone),
    )
    return [(int(failures), held) for failures, held in found]


async def expire_back_offs(session: AsyncSession) -> None:
    await scalar(
        session,
        "UPDATE sign_in_throttle SET blocked_until = now() - interval '1 second' "
        "WHERE blocked_until IS NOT NULL RETURNING 1",
    )


@pytest.fixture
def phone(accounts: dict[str, Account]) -> str:
    return accounts["resident"].phone


# --- one answer -------------------------------------------------------------------------------


async def test_held_back_unknown_wrong_and_disabled_read_the_same(
    from_address: FromAddress,
    phone: str,
    accounts: dict[str, Account],
    session: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The attack: five wrong passwords made a real phone answer ACCOUNT_LOCKED while
    unknown phones kept INVALID_CREDENTIALS, so anyone could list who has an account."""
    checks: list[str] = []
    real_verify = ri._verify

    def counting_verify(password_hash: str | None, password: str) -> bool:
        checks.append(password)
        return real_verify(password_hash, password)

    monkeypatch.setattr(ri, "_verify", counting_verify)
    attacker = from_address(ATTACKER)
    real = [await sign_in(attacker, phone, f"guess-{i}") for i in range(5)]
    unknown = [await sign_in(attacker, UNKNOWN_PHONE, f"guess-{i}") for i in range(5)]
    # every one of them cost a real password check, whether the phone has an account or not
    assert len(checks) == 10
    held_back = await sign_in(attacker, phone, DEMO_PASSWORD)  # right password, held back
    held_back_unknown = await sign_in(attacker, UNKNOWN_PHONE, DEMO_PASSWORD)
    assert len(checks) == 10  # held back: nothing is checked (it waits as long instead)
    malformed = await sign_in(attacker, "not a phone", DEMO_PASSWORD)
    await scalar(
        session,
        "UPDATE account SET disabled_at = now() WHERE id = :a RETURNING 1",
        a=accounts["renter"].id,
    )
    disabled = await sign_in(from_address(HOLDER), accounts["renter"].phone, DEMO_PASSWORD)
    for answer in (*real, *unknown, held_back, held_back_unknown, malformed, disabled):
        assert answer == REFUSED
    # and the throttle holds exactly the same state for the real and the unknown phone
    assert await throttle_state(session, phone) == await throttle_state(session, UNKNOWN_PHONE)
    assert [f for f, _ in await throttle_state(session, phone)] == [5]


async def test_an_attacker_does_not_lock_the_holder_out(
    from_address: FromAddress, phone: str
) -> None:
    attacker = from_address(ATTACKER)
    for i in range(7):
        assert await sign_in(attacker, phone, f"guess-{i}") == REFUSED
    # the holder, from their own address, signs in at once
    assert signed_in(await sign_in(from_address(HOLDER), phone, DEMO_PASSWORD))
    # while the attacker's address stays held back even with the right password
    assert await sign_in(attacker, phone, DEMO_PASSWORD) == REFUSED


async def test_the_back_off_doubles_and_ends(
    from_address: FromAddress, phone: str, session: AsyncSession
) -> None:
    client = from_address(ATTACKER)
    for i in range(5):
        await sign_in(client, phone, f"guess-{i}")
    assert await throttle_state(session, phone) == [(5, timedelta(seconds=30))]
    await expire_back_offs(session)
    await sign_in(client, phone, "guess-5")
    assert await throttle_state(session, phone) == [(6, timedelta(seconds=60))]
    await sign_in(client, phone, "guess-6")  # inside the window: not even counted
    assert await throttle_state(session, phone) == [(6, timedelta(seconds=60))]
    await expire_back_offs(session)
    await sign_in(client, phone, "guess-7")
    assert await throttle_state(session, phone) == [(7, timedelta(seconds=120))]
    await expire_back_offs(session)
    # after the back-off the right password works, and the phone starts afresh here
    assert signed_in(await sign_in(client, phone, DEMO_PASSWORD))
    assert await throttle_state(session, phone) == []


async def test_one_address_trying_many_phones_is_held_back(
    from_address: FromAddress, phone: str, settings: Settings
) -> None:
    settings(SIGN_IN_ADDRESS_FREE_ATTEMPTS=4)
    sprayer = from_address(ATTACKER)
    for i in range(4):
        assert await sign_in(sprayer, f"1990000000{i}", "123456789012") == REFUSED
    # the address has used its attempts: even a right password of a phone it never tried
    assert await sign_in(sprayer, phone, DEMO_PASSWORD) == REFUSED
    assert signed_in(await sign_in(from_address(HOLDER), phone, DEMO_PASSWORD))


async def test_a_successful_sign_in_gives_an_address_back_only_its_own_attempt(
    from_address: FromAddress, accounts: dict[str, Account], settings: Settings
) -> None:
    """An attacker who owns an account cannot reset the address count by signing in."""
    settings(SIGN_IN_ADDRESS_FREE_ATTEMPTS=4)
    sprayer = from_address(ATTACKER)
    for i in range(3):
        await sign_in(sprayer, f"1990000000{i}", "123456789012")
    assert signed_in(await sign_in(sprayer, accounts["renter"].phone, DEMO_PASSWORD))
    await sign_in(sprayer, "19900000009", "123456789012")  # the fourth failure
    assert await sign_in(sprayer, accounts["resident"].phone, DEMO_PASSWORD) == REFUSED


# --- learning of it ---------------------------------------------------------------------------


async def test_the_holder_learns_of_failed_sign_ins_after_signing_in(
    from_address: FromAddress, phone: str
) -> None:
    attacker = from_address(ATTACKER)
    for i in range(7):
        await sign_in(attacker, phone, f"guess-{i}")
    token = signed_in(await sign_in(from_address(HOLDER), phone, DEMO_PASSWORD))
    me = await from_address(HOLDER, {"Authorization": f"Bearer {token}"})(
        f"{{ me {{ {SECURITY} }} }}"
    )
    security = me["me"]["security"]
    assert security["failedSignIns"] == 7
    assert security["lastFailedSignInAt"] is not None
    assert security["lockedUntil"] is not None
    assert security["lastSignedInAt"] is not None


async def test_an_admin_sees_the_record_audited_and_lifts_the_back_off(
    from_address: FromAddress,
    as_account: Callable[[str], GraphQLClient],
    phone: str,
    demo: DemoCity,
    session: AsyncSession,
    accounts: dict[str, Account],
) -> None:
    attacker = from_address(ATTACKER)
    for i in range(5):
        await sign_in(attacker, phone, f"guess-{i}")
    query = """query($id: ID!) { accountSecurity(personId: $id) {
        failedSignIns lockedUntil lastFailedSignInAt } }"""
    person = {"id": gid("Person", demo.resident_alone.id)}

    refused = await as_account("building-head").raw(query, person)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    hidden = await as_account("renter").raw(query, person)
    assert hidden["errors"][0]["extensions"]["code"] in ("FORBIDDEN", "NOT_FOUND")

    admin = as_account("community-admin")
    before = int(
        await scalar(
            session,
            "SELECT count(*) FROM audit_log WHERE action = 'READ' "
            "AND object_type = 'Account' AND :a = ANY(row_ids)",
            a=accounts["resident"].id,
        )
    )
    seen = (await admin(query, person))["accountSecurity"]
    assert seen["failedSignIns"] == 5
    assert seen["lockedUntil"] is not None
    after = int(
        await scalar(
            session,
            "SELECT count(*) FROM audit_log WHERE action = 'READ' "
            "AND object_type = 'Account' AND :a = ANY(row_ids)",
            a=accounts["resident"].id,
        )
    )
    assert after == before + 1

    unlock = {"personId": person["id"]}
    not_theirs = await mutation(
        as_account("building-head"), "unlockAccount", "UnlockAccountInput", unlock, "person { id }"
    )
    assert codes(not_theirs) == ["FORBIDDEN"]
    assert await sign_in(attacker, phone, DEMO_PASSWORD) == REFUSED
    lifted = await mutation(admin, "unlockAccount", "UnlockAccountInput", unlock, "person { id }")
    assert lifted["errors"] == []
    assert (await admin(query, person))["accountSecurity"] == {
        "failedSignIns": 0,
        "lockedUntil": None,
        "lastFailedSignInAt": seen["lastFailedSignInAt"],
    }
    # lifted from every address at once, the attacker's included
    assert signed_in(await sign_in(attacker, phone, DEMO_PASSWORD))


async def test_a_wrong_current_password_counts_like_a_failed_sign_in(
    from_address: FromAddress, phone: str
) -> None:
    """Otherwise a stolen access token would allow unthrottled password guessing."""
    token = signed_in(await sign_in(from_address(HOLDER), phone, DEMO_PASSWORD))
    client = from_address(ATTACKER, {"Authorization": f"Bearer {token}"})

    async def change(current: str) -> dict[str, Any]:
        return await mutation(
            client,
            "changePassword",
            "ChangePasswordInput",
            {"currentPassword": current, "newPassword": "a-much-longer-secret-2025"},
            "ok",
        )

    for i in range(5):
        assert codes(await change(f"guess-{i}")) == ["INVALID_CREDENTIALS"]
    held_back = await change(DEMO_PASSWORD)
    assert held_back["ok"] is False
    assert [(e["code"], e["field"]) for e in held_back["errors"]] == [
        ("INVALID_CREDENTIALS", "currentPassword")
    ]
    # the holder's own address is not held back by it
    assert signed_in(await sign_in(from_address(HOLDER), phone, DEMO_PASSWORD))


# --- where a request comes from ---------------------------------------------------------------


def test_forwarded_for_is_believed_only_from_configured_proxies() -> None:
    proxies = parse_networks("10.0.0.0/8, 127.0.0.1")
    peer = ("10.1.2.3", 5000)
    assert client_address(("203.0.113.5", 1), ["198.51.100.1"], proxies) == "203.0.113.5"
    assert client_address(peer, ["198.51.100.1"], proxies) == "198.51.100.1"
    # the client wrote the left part itself: only the hop our proxy appended counts
    assert client_address(peer, ["1.1.1.1, 198.51.100.1"], proxies) == "198.51.100.1"
    assert client_address(peer, ["1.1.1.1", "198.51.100.1, 10.0.0.7"], proxies) == "198.51.100.1"
    assert client_address(peer, [], proxies) == "10.1.2.3"
    assert client_address(peer, ["198.51.100.1"], ()) == "10.1.2.3"
    # one IPv6 client holds a /64: rotating inside it changes nothing
    assert client_address(("2001:db8:1:2::5", 1), [], ()) == "2001:db8:1:2::/64"
    assert client_address(("2001:db8:1:2:ffff::9", 1), [], ()) == "2001:db8:1:2::/64"
    assert client_address(None, [], proxies) == "unknown"


async def test_a_spoofed_forwarded_for_does_not_escape_the_throttle(
    from_address: FromAddress, phone: str, settings: Settings
) -> None:
    attacker = from_address(ATTACKER)
    for i in range(5):
        await sign_in(attacker, phone, f"guess-{i}")
    spoofed = from_address(ATTACKER, {"X-Forwarded-For": HOLDER})
    assert await sign_in(spoofed, phone, DEMO_PASSWORD) == REFUSED

    # behind a configured proxy, the address it reports is the client's
    settings(TRUSTED_PROXIES="10.0.0.0/8")
    proxy = "10.0.0.2"
    behind = from_address(proxy, {"X-Forwarded-For": ATTACKER})
    for i in range(5):
        await sign_in(behind, phone, f"guess-{i}")
    assert await sign_in(behind, phone, DEMO_PASSWORD) == REFUSED
    another_client = from_address(proxy, {"X-Forwarded-For": f"{ATTACKER}, {HOLDER}"})
    assert signed_in(await sign_in(another_client, phone, DEMO_PASSWORD))
