"""The outbox: every outgoing call is a stored row first, delivered at the platforms' pace."""
