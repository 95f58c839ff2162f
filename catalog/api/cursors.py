"""The list's keyset cursor (SPEC §3 `next_cursor`): opaque to clients, checked field by field.

A cursor holds the last row's sort value and pack id, the running offset, and the ids of the page
just served (excluded from the next page, so a pack whose score slipped below the cursor since is
not served twice). Any field of the wrong type or out of its column's range is a 400.
"""

import base64
import json
import math
from datetime import datetime

from catalog.errors import CatalogError, InvalidInput
from catalog.selectors import SORT_COLUMNS
from catalog.validation import MAX_DB_ID, loads_bounded

MAX_CURSOR_LENGTH = 2048  # a real cursor of 60 seen ids is ~700 characters
MAX_CURSOR_OFFSET = 2**31 - 1
MAX_CURSOR_SEEN = 60  # the largest page
MAX_COUNTER = 2**32 - 1  # PositiveIntegerField
MAX_SCORE = 1e6  # scores are small floats (ranking < 5)


def encode_cursor(sort: str, value, pack_id: int, offset: int, seen: list[int]) -> str:
    if isinstance(value, datetime):
        value = {"t": value.isoformat()}
    raw = json.dumps({"s": sort, "v": value, "id": pack_id, "o": offset, "x": seen}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _cursor_int(value, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError
    return value


def _cursor_value(value, sort: str):
    """The sort value of a cursor, of the type and range its column holds."""
    column = SORT_COLUMNS[sort]
    if column == "published_at":
        if not isinstance(value, dict) or not isinstance(value.get("t"), str) or len(value["t"]) > 40:
            raise ValueError
        moment = datetime.fromisoformat(value["t"])
        if moment.tzinfo is None or not 1970 <= moment.year <= 9998:
            raise ValueError
        return moment
    if column in ("like_count", "download_count"):
        return _cursor_int(value, low=0, high=MAX_COUNTER)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError
    if abs(value) > MAX_SCORE:
        raise ValueError
    return float(value)


def decode_cursor(cursor: str, sort: str) -> tuple[tuple, int]:
    """((sort value, pack id, ids to skip), running offset) of a cursor for `sort`."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidInput("cursor is not valid")
    try:
        data = loads_bounded(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)), max_depth=3)
    except (CatalogError, ValueError):
        raise InvalidInput("cursor is not valid") from None
    if not isinstance(data, dict):
        raise InvalidInput("cursor is not valid")
    if data.get("s") != sort:
        raise InvalidInput("cursor belongs to another sort order")
    try:
        value = _cursor_value(data.get("v"), sort)
        pack_id = _cursor_int(data.get("id"), low=0, high=MAX_DB_ID)
        offset = _cursor_int(data.get("o"), low=0, high=MAX_CURSOR_OFFSET)
        seen = data.get("x", [])
        if not isinstance(seen, list) or len(seen) > MAX_CURSOR_SEEN:
            raise ValueError
        seen = [_cursor_int(i, low=0, high=MAX_DB_ID) for i in seen]
    except (ValueError, KeyError, TypeError):
        raise InvalidInput("cursor is not valid") from None
    return (value, pack_id, seen), offset
