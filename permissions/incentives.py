"""Who sees the points ledger: one's own entries, and admins those of people in their subtree."""

from __future__ import annotations

from permissions.scope import Reach

ROW_SCOPE: dict[str, Reach] = {"points_entry": Reach.LEDGER}
