"""Placeholder until the feature lands (replaced in this session)."""


def install(app) -> None:  # noqa: ANN001
    """Nothing to add yet."""
