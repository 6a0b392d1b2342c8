"""Fixtures of the metrics tests: the constructed history of `story.py`, and loaders."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from permissions.actor import Actor
from permissions.scope import countable, visible
from resolvers.loaders import Loaders
from seeds.demo import DemoCity
from tests.metrics.story import Story, build_story


@pytest.fixture
async def story(session: AsyncSession, demo: DemoCity) -> Story:
    return await build_story(session, demo)


@pytest.fixture
def loaders(session: AsyncSession) -> Loaders:
    """Loaders of an unrestricted caller."""
    return Loaders(session, scope=lambda _: [])


def loaders_of(session: AsyncSession, actor: Actor) -> Loaders:
    """Loaders scoped as the request context scopes them for `actor`."""
    return Loaders(
        session, lambda model: visible(model, actor), lambda model: countable(model, actor)
    )
