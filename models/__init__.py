"""SQLModel tables, one module per domain; `models.registry` imports them all."""
