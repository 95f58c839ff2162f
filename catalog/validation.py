"""Input bounds: small checks that run before any work the input asks for, each raising a
CatalogError with a code (400 unless said). Views and services call them today; DRF input
serializers can call the same functions from their `validate_<field>` methods.

- integers: `bounded_int` (digits counted before converting; out of range → 400)
- lists: `bounded_list` / `split_bounded` (the length is checked before any per-item work)
- text: `clean_text` (NFC; control, bidi-override and surrogate characters refused with
  INVALID_CHARACTERS; a required text that is empty once invisible characters are removed refused)
- JSON: `loads_bounded` / `check_json_value` (nesting depth, lone surrogates)
- uploads: `upload_bytes` (a multipart file part to bytes, over its size limit → 413 before reading)
"""

import json
import re
import unicodedata

from django.conf import settings

from catalog.errors import CatalogError, InvalidInput

MAX_DB_ID = 2**63 - 1  # BIGINT: larger ids cannot exist
MAX_JSON_DEPTH = 16

# Bidi embeddings, overrides and isolates: they reorder how the text around them is shown.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Characters that show nothing (format characters, fillers, blanks): a name of these alone is empty.
_INVISIBLE = re.compile(
    "[\\s\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u2028-\u202f"
    "\u205f-\u206f\u2800\u3000\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f]"
)
_MULTILINE_ALLOWED = frozenset("\n\t")


class InvalidCharacters(CatalogError):
    code, status = "INVALID_CHARACTERS", 400


def bounded_int(raw, name: str, *, default: int, low: int, high: int, clamp_high: bool = False) -> int:
    """An integer query value in [low, high]; above `high` → 400, or `high` with clamp_high."""
    if raw in (None, ""):
        return default
    if isinstance(raw, bool):
        raise InvalidInput(f"{name} must be an integer")
    if isinstance(raw, str):
        text = raw.strip()
        if len(text) > 40 or not re.fullmatch(r"[+-]?[0-9]+", text):  # bounded before int()
            raise InvalidInput(f"{name} must be an integer")
        value = int(text)
    elif isinstance(raw, int):
        value = raw
    else:
        raise InvalidInput(f"{name} must be an integer")
    if value < low:
        raise InvalidInput(f"{name} must be at least {low}")
    if value > high:
        if clamp_high:
            return high
        raise InvalidInput(f"{name} must be at most {high}")
    return value


def path_id(raw: str) -> int | None:
    """A database id from a URL segment of digits; None when no row can have it."""
    if not raw.isdigit() or len(raw) > 19:
        return None
    value = int(raw)
    return value if 0 < value <= MAX_DB_ID else None


def bounded_list(value, name: str, *, max_items: int) -> list:
    if not isinstance(value, list):
        raise InvalidInput(f"{name} must be a list")
    if len(value) > max_items:
        raise InvalidInput(f"{name}: at most {max_items} items")
    return value


def split_bounded(raw: str, name: str, *, max_items: int, separators: str = ",") -> list[str]:
    """`raw` split on any of `separators` (runs of them are one), at most `max_items` non-empty
    parts; the input is refused before more than that are ever made."""
    pattern = "[" + re.escape(separators) + "]+"
    parts = re.split(pattern, raw.strip(separators + " "), maxsplit=max_items) if raw else []
    parts = [p for p in parts if p.strip()]
    if len(parts) > max_items:
        raise InvalidInput(f"{name}: at most {max_items} items")
    return parts


def is_encodable(text: str) -> bool:
    """False for text holding lone surrogates (no database or hash can take those)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def plain_string(value, name: str, *, max_length: int) -> str:
    """A string taken as is (a password, a username to look up): bounded and encodable, never
    normalised — changing it would change what it matches."""
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{name} is required")
    if len(value) > max_length:
        raise InvalidInput(f"{name} is longer than {max_length} characters")
    if not is_encodable(value):
        raise InvalidCharacters(f"{name} holds an invalid character (a lone surrogate)")
    return value


def visible(text: str) -> str:
    """`text` without the characters that show nothing."""
    return _INVISIBLE.sub("", text)


def clean_text(value, name: str, *, max_length: int, required: bool = False, multiline: bool = False) -> str:
    """A user-supplied text: a string, NFC-normalised and stripped, no control characters (tab and
    line feed allowed in `multiline` text, where CR LF becomes LF), no bidi overrides, no lone
    surrogates, at most `max_length` characters; with `required`, not empty once invisible
    characters are removed."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string")
    if len(value) > 4 * max_length:  # before any per-character work
        raise InvalidInput(f"{name} is longer than {max_length} characters")
    if not is_encodable(value):
        raise InvalidCharacters(f"{name} holds an invalid character (a lone surrogate)")
    if multiline:
        value = value.replace("\r\n", "\n")
    value = unicodedata.normalize("NFC", value).strip()
    allowed = _MULTILINE_ALLOWED if multiline else frozenset()
    for char in value:
        if char in allowed:
            continue
        if char in _BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp"):
            raise InvalidCharacters(f"{name} holds a control or bidi-override character (U+{ord(char):04X})")
    if len(value) > max_length:
        raise InvalidInput(f"{name} is longer than {max_length} characters")
    if required and not visible(value):
        raise InvalidInput(f"{name} is required" if not value else f"{name} is empty once invisible characters go")
    return value


def check_json_value(value, *, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Refuse a parsed JSON value nested deeper than `max_depth` or holding lone surrogates
    (in keys or strings); iterative, so no input can exhaust the stack."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not is_encodable(item):
                raise InvalidCharacters("the JSON body holds an invalid character (a lone surrogate)")
            continue
        if not isinstance(item, dict | list):
            continue
        if depth > max_depth:
            raise InvalidInput(f"JSON nested deeper than {max_depth} levels")
        if isinstance(item, dict):
            stack.extend((key, depth) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        else:
            stack.extend((child, depth + 1) for child in item)


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def loads_bounded(text, *, max_depth: int = MAX_JSON_DEPTH):
    """json.loads that refuses NaN/Infinity, deep nesting and lone surrogates with InvalidInput."""
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise InvalidInput(f"JSON nested deeper than {max_depth} levels") from None
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"JSON is not valid: {exc}") from None
    check_json_value(value, max_depth=max_depth)
    return value


def upload_bytes(file) -> bytes:
    """The bytes of an uploaded file part (what the upload service takes): refused with
    FILE_TOO_LARGE (413) when its declared size is over STICKER_UPLOAD_SOURCE_MAX_BYTES, and read at
    most one byte past that limit (the service refuses a part that lied about its size)."""
    if file is None or not hasattr(file, "read"):
        raise InvalidInput("send the image in the multipart field 'file'")
    limit = settings.STICKER_UPLOAD_SOURCE_MAX_BYTES
    if getattr(file, "size", None) is not None and file.size > limit:
        raise CatalogError(f"file is over {limit} bytes", code="FILE_TOO_LARGE", status=413)
    return file.read(limit + 1)
