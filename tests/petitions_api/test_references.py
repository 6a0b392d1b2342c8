"""Photos and evidence are public http(s) URLs or stored object keys, checked strictly: a
real host, no credentials, no whitespace or control characters, bounded length."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from seeds.demo import DemoCity
from tests.conftest import GraphQLClient
from tests.petitions_api.helpers import errors, petition_count, petition_input, submit, submitted

REFUSED = {
    "credentials": "https://admin:hunter2@img.example.cn/a.jpg",
    "user only": "https://admin@img.example.cn/a.jpg",
    "space in path": "https://img.example.cn/a b.jpg",
    "tab": "https://img.example.cn/a\tb.jpg",
    "newline": "https://img.example.cn/a.jpg\nSet-Cookie: x=1",
    "zero-width space": "https://img.example.cn/\u200ba.jpg",
    "backslash": "https://img.example.cn\\@evil.example/a.jpg",
    "no host": "https:///a.jpg",
    "single-label host": "http://localhost/a.jpg",
    "private address": "http://10.0.0.8/a.jpg",
    "loopback address": "http://127.0.0.1:8000/a.jpg",
    "link-local address": "http://169.254.169.254/latest/meta-data",
    "IPv6 loopback": "http://[::1]/a.jpg",
    "label starting with a hyphen": "https://-img.example.cn/a.jpg",
    "numeric top label": "https://img.example.123/a.jpg",
    "port out of range": "https://img.example.cn:99999/a.jpg",
    "port not a number": "https://img.example.cn:http/a.jpg",
    "data URL": "data:image/png;base64,iVBORw0KGgo=",
    "javascript": "javascript:alert(1)",
    "ftp": "ftp://img.example.cn/a.jpg",
    "too long": "https://img.example.cn/" + "a" * 500 + ".jpg",
    "key with traversal": "petitions/../secrets.jpg",
    "key with empty segment": "petitions//a.jpg",
}
ACCEPTED = [
    "https://img.example.cn/wx/2024/a1.jpg",
    "http://cdn.example.com:8080/a/b.png?w=640#top",
    "https://xn--fiqs8s.xn--fiqz9s/照片.jpg",
    "https://8.8.8.8/a.jpg",
    "petitions/2024/0f3a9c2e.jpg",
]


@pytest.mark.parametrize("case", list(REFUSED))
async def test_a_photo_that_is_no_public_url_is_refused(
    case: str, resident: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    before = await petition_count(session)
    payload = await submit(resident, await petition_input(session, demo, photos=[REFUSED[case]]))
    assert errors(payload) == [("VALIDATION", "photos")], payload
    assert payload["petition"] is None
    message = payload["errors"][0]["message"]
    assert "hunter2" not in message  # a refusal never repeats what was sent
    assert await petition_count(session) == before


async def test_public_urls_and_stored_keys_are_kept(
    resident: GraphQLClient, demo: DemoCity, session: AsyncSession
) -> None:
    petition = await submitted(resident, await petition_input(session, demo, photos=ACCEPTED))
    assert petition["photos"] == ACCEPTED
