"""Who has a queue: a signed-in person (what waits for them is each process's `Queue` rule,
declared beside its actions: `permissions.petitions.PETITION_QUEUE`, `permissions.wishes.
WISH_QUEUE`). Machine tokens handle nothing: they are refused, not shown an empty queue."""

from __future__ import annotations

from permissions.rules import SignedIn

MY_QUEUE = SignedIn()
