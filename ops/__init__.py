"""Operations: what the running service tells its operators (metrics, request logs)."""
