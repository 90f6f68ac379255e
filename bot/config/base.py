"""What every config section shares: strict models and the time of day as HH:MM."""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class Model(BaseModel):
    # strict: "-1001…" in quotes is text, not a group id; "yes" is not true
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def check_hhmm(value: str) -> str:
    if not _HHMM.match(value):
        raise ValueError(f"expected a time as HH:MM, got {value!r}")
    return value


HHMM = Annotated[str, Field(description="local time HH:MM")]


def parse_hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))
