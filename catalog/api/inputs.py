"""Input serializers: one per operation that takes a query or a body. The views validate with them
(validate → selector or service → render) and drf-spectacular documents the operations from them,
so the schema says what is accepted. Refusals are catalog errors with their codes (catalog.validation,
catalog.api.fields); query parameters that are empty count as not given."""

from django.conf import settings
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.fields import SkipField

from catalog.api.cursors import MAX_CURSOR_LENGTH, decode_cursor
from catalog.api.exceptions import error_message
from catalog.api.fields import (
    AnyTextField,
    BoundedListField,
    CleanTextField,
    CommaSeparatedField,
    EmojisField,
    PlainStringField,
    QueryIntegerField,
    SearchField,
    StrictBooleanField,
    StrictIntegerField,
    UploadFileField,
)
from catalog.errors import InvalidInput
from catalog.models import StickerPack
from catalog.services.packs import MAX_TAG_INPUTS, MAX_TAG_LENGTH, MAX_TAGS, TEXT_LIMITS, clean_tags
from catalog.services.uploads import EMOJI_MAX, LABEL_MAX, MAX_EMOJIS, UPLOAD_ID_MAX

DEFAULT_LIMIT = 24
MAX_LIMIT = 60  # larger limits are served as MAX_LIMIT (the reference client expects it)
LIMIT_ACCEPTED_MAX = 2**31 - 1
MAX_OFFSET = 10_000  # an OFFSET walks that many index rows: deeper pages use the cursor
MAX_CATEGORIES = 20
MAX_CATEGORY_LENGTH = 64
MAX_QUERY_LENGTH = 200
SOURCE_MAX = 32
USERNAME_MAX = 150  # Django's username field
PASSWORD_MAX = 1024

# sort as the client says it → the sort a selector orders by (catalog.selectors.SORT_COLUMNS).
SORT_ALIASES = {
    "ranking": "ranking",
    "popular": "ranking",
    "trending": "trending",
    "recent": "recent",
    "new": "recent",
    "likes": "likes",
    "liked": "likes",
    "comments": "likes",
    "downloads": "downloads",
}


def validated(serializer: serializers.Serializer) -> dict:
    """The serializer's validated data; DRF's own refusals (a wrong type, an unknown choice) become
    InvalidInput like the catalog's, for the pages that parse with these serializers too."""
    if not serializer.is_valid():
        raise InvalidInput(error_message(serializer.errors))
    return serializer.validated_data


class QuerySerializer(serializers.Serializer):
    """A query string's known parameters (others are ignored: the read cache keys on these names
    only, catalog.api.cache).

    `parse` runs on the hot read paths: it validates with the fields DRF's `is_valid` would use
    (their get_value and run_validation, then `validate_<name>` and `validate`), but with one set
    of bound fields per class instead of a deep copy per request (150 us of a list's ~4 ms). Query
    fields keep no per-request state. tests/catalog/test_rendering.py holds it equal to `is_valid`."""

    @classmethod
    def parse(cls, query, **context) -> dict:
        serializer = cls(context=context)
        attrs = {}
        for field in cls._shared_fields():
            validate_method = getattr(serializer, "validate_" + field.field_name, None)
            try:
                value = field.run_validation(field.get_value(query))
                if validate_method is not None:
                    value = validate_method(value)
            except SkipField:
                continue
            except ValidationError as exc:
                raise InvalidInput(error_message({field.field_name: exc.detail})) from None
            attrs[field.source] = value
        try:
            return serializer.validate(attrs)
        except ValidationError as exc:
            raise InvalidInput(error_message(exc.detail)) from None

    @classmethod
    def _shared_fields(cls) -> list:
        found = cls.__dict__.get("_bound_fields")
        if found is None:
            found = list(cls().fields.values())
            cls._bound_fields = found
        return found

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The parameters it reads (a view's `cache_query_params`)."""
        return tuple(cls._declared_fields)


class BodySerializer(serializers.Serializer):
    """A JSON object body: a field it does not know is refused (the schema says additionalProperties
    false), before any other check."""

    forbid_unknown = True

    def to_internal_value(self, data):
        if not isinstance(data, dict):  # a form's QueryDict is one too
            raise InvalidInput("expected a JSON object")
        unknown = set(data) - set(self.fields) if self.forbid_unknown else ()
        if unknown:
            raise InvalidInput(f"unknown or read-only fields: {', '.join(sorted(map(str, unknown)))[:200]}")
        return super().to_internal_value(data)

    @classmethod
    def parse(cls, data, *, partial: bool = False, **context) -> dict:
        return validated(cls(data=data, partial=partial, context=context))


def limit_field(default: int = DEFAULT_LIMIT) -> QueryIntegerField:
    return QueryIntegerField(
        required=False,
        default=default,
        min_value=1,
        max_value=LIMIT_ACCEPTED_MAX,
        clamp_above=MAX_LIMIT,
        help_text=f"page size, default {default}; above {MAX_LIMIT} is served as {MAX_LIMIT}",
    )


def offset_field() -> QueryIntegerField:
    return QueryIntegerField(
        required=False,
        default=0,
        min_value=0,
        max_value=MAX_OFFSET,
        help_text=f"rows to skip (at most {MAX_OFFSET}; deeper pages: follow next_cursor)",
    )


class SortField(serializers.ChoiceField):
    """One of SORT_ALIASES (any case, spaces around ignored); empty is the default, ranking."""

    def __init__(self, **kwargs):
        super().__init__(choices=list(SORT_ALIASES), required=False, allow_blank=True, **kwargs)

    def to_internal_value(self, data):
        raw = str(data).strip().lower() or "ranking"
        sort = SORT_ALIASES.get(raw)
        if sort is None:
            raise InvalidInput(f"unknown sort {raw[:32]!r}; use one of {', '.join(SORT_ALIASES)}")
        return sort


class PackListQuery(QuerySerializer):
    """GET /api/sticker-packs (and the browse page)."""

    q = SearchField(cut_at=MAX_QUERY_LENGTH, help_text="search name, publisher, description and tags")
    sort = SortField(
        help_text="ranking (default) = popular; trending; recent = new; likes = liked = comments; downloads"
    )
    categories = CommaSeparatedField(
        max_length=MAX_CATEGORIES, help_text=f"comma-separated tags, any match (at most {MAX_CATEGORIES})"
    )
    include_sensitive = serializers.BooleanField(
        required=False, default=False, help_text="honoured for logged-in viewers only"
    )
    visibility = AnyTextField(help_text="accepted and ignored: only public packs are listed")
    limit = limit_field()
    offset = offset_field()
    cursor = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_CURSOR_LENGTH,
        help_text="next_cursor of the previous page (of the same sort); it carries its own offset",
    )

    def validate(self, attrs):
        sort = attrs.get("sort") or "ranking"
        after, offset = None, attrs["offset"]
        if attrs.get("cursor"):
            after, offset = decode_cursor(attrs["cursor"], sort)
        return {
            "sort": sort,
            "limit": attrs["limit"],
            "offset": offset,
            "after": after,
            "q": attrs.get("q", ""),
            "categories": [c.strip().lower()[:MAX_CATEGORY_LENGTH] for c in attrs.get("categories", [])],
            "include_sensitive": attrs["include_sensitive"] and not self.context["anonymous"],
        }


class CreatorsQuery(QuerySerializer):
    limit = limit_field(default=20)


class OrphanStickersQuery(QuerySerializer):
    limit = limit_field()
    offset = offset_field()


class EngagementQuery(QuerySerializer):
    source = AnyTextField(
        help_text=f"where the click came from (web, bot, ...): cut to {SOURCE_MAX} characters, default api",
    )

    def validate(self, attrs):
        return {"source": str(attrs.get("source") or "")[:SOURCE_MAX].strip() or "api"}


class PackWriteInput(BodySerializer):
    """POST /api/sticker-packs (name required) and PATCH /api/sticker-packs/{pack_key} (partial)."""

    name = CleanTextField(max_length=TEXT_LIMITS["name"], visible_required=True)
    publisher = CleanTextField(
        max_length=TEXT_LIMITS["publisher"],
        required=False,
        blank_or_visible=True,
        help_text="shown on the pack; default (empty): the creator's display name",
    )
    description = CleanTextField(max_length=TEXT_LIMITS["description"], multiline=True, required=False)
    tags = BoundedListField(
        child=serializers.CharField(max_length=4 * MAX_TAG_LENGTH),
        max_length=MAX_TAG_INPUTS,
        required=False,
        help_text=f"at most {MAX_TAGS} distinct tags: each is slugified and cut to {MAX_TAG_LENGTH} characters, "
        f"duplicates fold; at most {MAX_TAG_INPUTS} entries are read",
    )
    visibility = serializers.ChoiceField(choices=StickerPack.Visibility.values, required=False)
    is_sensitive = StrictBooleanField(required=False, help_text="the owner's mark (staff's mark stays)")

    def validate_tags(self, value):
        return clean_tags(value)


class StickerMoveInput(BodySerializer):
    """PATCH /api/sticker-packs/{pack_key}/stickers/{sticker_id}: a move, `position` required."""

    partial_on_patch = False
    position = StrictIntegerField(
        min_value=1,
        max_value=settings.STICKER_PACK_MAX_ITEMS,
        help_text="the sticker's new place (1..N, N the pack's sticker count: past N is a 409); the others shift",
    )


class StickerUploadInput(BodySerializer):
    """The multipart form of POST /api/sticker-packs/{pack_key}/stickers (other fields are ignored)."""

    forbid_unknown = False

    file = UploadFileField(help_text="PNG, JPEG, WebP or GIF (animated kept), at most 20 MiB")
    emojis = EmojisField(
        max_items=MAX_EMOJIS,
        item_length=EMOJI_MAX,
        help_text=f"space- or comma-separated, at most {MAX_EMOJIS} of at most {EMOJI_MAX} characters each",
    )
    accessibility_label = CleanTextField(max_length=LABEL_MAX, required=False)
    upload_id = CleanTextField(
        max_length=UPLOAD_ID_MAX, required=False, help_text="retry key: the same id returns the same item"
    )


class TokenRequestInput(BodySerializer):
    """POST /api/auth/token (JSON or a form)."""

    forbid_unknown = False
    username = PlainStringField(max_length=USERNAME_MAX, min_length=1)
    password = PlainStringField(max_length=PASSWORD_MAX, min_length=1)
