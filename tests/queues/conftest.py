"""The demo accounts as the mini-program and the admin SPA sign them in."""

from tests.petitions_api.conftest import community_admin, head, resident, worker

__all__ = ["community_admin", "head", "resident", "worker"]
