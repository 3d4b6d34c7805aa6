"""Bounds on what comes in, checked at the edge (a 422, never a database error).

``Id`` is any row id the database can hold (PostgreSQL's ``integer``: below 2**31), for
path, query, JSON and form fields alike; ``Day`` a calendar day whose start and end, and a
day on either side, are valid timestamps; ``Page`` a page number of a listing.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from annotated_types import Interval

DB_INT_MAX = 2**31 - 1
MIN_DAY = date(1970, 1, 1)
MAX_DAY = date(9998, 12, 31)

Id = Annotated[int, Interval(ge=1, le=DB_INT_MAX)]
Day = Annotated[date, Interval(ge=MIN_DAY, le=MAX_DAY)]
Page = Annotated[int, Interval(ge=0, le=1_000_000)]
