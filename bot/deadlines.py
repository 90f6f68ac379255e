"""Placeholder until the feature lands (replaced in this session)."""


def install(app) -> None:
    """Nothing to add yet."""
