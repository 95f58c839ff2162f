"""Input fields of the API's serializers. Each runs the input bound of catalog.validation that the
services use too, so a refusal keeps its code (INVALID_INPUT, INVALID_CHARACTERS, ...), and each
declares what it enforces (minimum, maximum, maxLength, ...) on itself, where drf-spectacular reads
it: the OpenAPI schema says what the code accepts."""

import unicodedata

from django.core.validators import RegexValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from catalog.errors import InvalidInput
from catalog.validation import bounded_int, bounded_list, clean_text, plain_string, split_bounded, upload_bytes, visible


class CatalogFieldMixin:
    """A field whose refusals are catalog errors with a code; a required field that is missing (or,
    in a query, empty) is refused as `<name> is required`."""

    def validate_empty_values(self, data):
        if data is empty and self.required and not getattr(self.root, "partial", False):
            raise InvalidInput(f"{self.field_name} is required")
        return super().validate_empty_values(data)

    def run_validators(self, value):
        """The bounds ran in to_internal_value (with the catalog's codes); nothing else is checked."""


class QueryIntegerField(CatalogFieldMixin, serializers.IntegerField):
    """An integer in [min_value, max_value] (digits counted before converting); with `clamp_above`,
    values above it (and at most max_value) are served as `clamp_above`."""

    def __init__(self, *, clamp_above: int | None = None, **kwargs):
        self.clamp_above = clamp_above
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = bounded_int(data, self.field_name, default=0, low=self.min_value, high=self.max_value)
        if self.clamp_above is not None and value > self.clamp_above:
            return self.clamp_above
        return value


class StrictBooleanField(CatalogFieldMixin, serializers.BooleanField):
    """true or false, nothing else (a JSON body's booleans)."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            raise InvalidInput(f"{self.field_name} must be true or false")
        return data


class StrictIntegerField(CatalogFieldMixin, serializers.IntegerField):
    """A JSON integer in [min_value, max_value] (not a string, not a float, not a boolean)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            raise InvalidInput(f"{self.field_name} must be an integer")
        return bounded_int(data, self.field_name, default=0, low=self.min_value, high=self.max_value)


# The characters catalog.validation.clean_text refuses (C0/C1 controls, line and paragraph
# separators, bidi embeddings, overrides and isolates), as a JSON Schema pattern.
_REFUSED = "\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069"
_REFUSED_MULTILINE = "\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069"
# Characters that show something (visible() keeps them): not blank, not format characters.
_SHOWN = "[^\\s\\u00ad\\u034f\\u061c\\u115f\\u1160\\u17b4\\u17b5\\u180b-\\u180f\\u200b-\\u200f\\u2028-\\u202f" + (
    "\\u205f-\\u206f\\u2800\\u3000\\u3164\\ufe00-\\ufe0f\\ufeff\\uffa0" + _REFUSED + "]"
)


class CleanTextField(CatalogFieldMixin, serializers.CharField):
    """A user-supplied text through catalog.validation.clean_text: NFC, trimmed, no control or
    bidi-override characters (INVALID_CHARACTERS), at most max_length characters once normalised;
    `visible_required`: not empty once invisible characters go (a name)."""

    def __init__(
        self, *, multiline: bool = False, visible_required: bool = False, blank_or_visible: bool = False, **kwargs
    ):
        self.multiline = multiline
        self.visible_required = visible_required
        self.blank_or_visible = blank_or_visible
        kwargs.setdefault("allow_blank", not visible_required)
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        refused = _REFUSED_MULTILINE if multiline else _REFUSED
        # What clean_text refuses, for the schema (clean_text runs the check itself, with its codes).
        if visible_required:
            pattern = f"^[^{refused}]*{_SHOWN}[^{refused}]*$"
        elif blank_or_visible:
            pattern = f"^(\\s*|[^{refused}]*{_SHOWN}[^{refused}]*)$"
        else:
            pattern = f"^[^{refused}]*$"
        self.validators.append(RegexValidator(pattern))

    def to_internal_value(self, data):
        text = clean_text(
            data,
            self.field_name,
            max_length=self.max_length,
            required=self.visible_required,
            multiline=self.multiline,
        )
        if self.blank_or_visible and text and not visible(text):
            raise InvalidInput(f"{self.field_name} is empty once invisible characters go")
        return text


class PlainStringField(CatalogFieldMixin, serializers.CharField):
    """A string taken as is (a username, a password): bounded, encodable, never normalised."""

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        return plain_string(data, self.field_name, max_length=self.max_length)


class AnyTextField(serializers.CharField):
    """Any text (a query value that is only read, or cut): nothing is refused."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)

    def run_validators(self, value):
        """No bound: the value is cut or ignored where it is read."""


class SearchField(AnyTextField):
    """Free text to search for: NFC, trimmed, cut to `cut_at` characters; never refused."""

    def __init__(self, *, cut_at: int, **kwargs):
        self.cut_at = cut_at
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        return unicodedata.normalize("NFC", str(data)[: 4 * self.cut_at]).strip()[: self.cut_at]


class CommaSeparatedField(CatalogFieldMixin, serializers.ListField):
    """A query value of comma-separated items (runs of commas are one; blank items are dropped):
    at most max_length items, counted before any per-item work."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("child", serializers.CharField(validators=[RegexValidator("^[^,]*$")]))
        super().__init__(**kwargs)

    def get_value(self, dictionary):
        return dictionary.get(self.field_name, empty)  # the one CSV value, not a repeated parameter

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise InvalidInput(f"{self.field_name} must be comma-separated text")
        return split_bounded(data, self.field_name, max_items=self.max_length)


class BoundedListField(CatalogFieldMixin, serializers.ListField):
    """A JSON list of at most max_length items, counted before any per-item work."""

    def to_internal_value(self, data):
        return bounded_list(data, self.field_name, max_items=self.max_length)


_SEPARATOR = "[, \\t\\n]"
_EMOJI = "[^, " + _REFUSED + "]"


class EmojisField(CatalogFieldMixin, serializers.CharField):
    """Emojis of a sticker: a text of up to `max_items` items separated by spaces or commas, each at
    most `item_length` characters (catalog.services.uploads.clean_emojis)."""

    def __init__(self, *, max_items: int, item_length: int, **kwargs):
        self.max_items = max_items
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        item = f"{_EMOJI}{{1,{item_length}}}"
        self.validators.append(
            RegexValidator(f"^{_SEPARATOR}*({item}({_SEPARATOR}+{item}){{0,{max_items - 1}}})?{_SEPARATOR}*$")
        )

    def to_internal_value(self, data):
        from catalog.services.uploads import clean_emojis

        return clean_emojis(data)


@extend_schema_field(OpenApiTypes.BINARY)
class UploadFileField(serializers.FileField):
    """An uploaded file part, validated to its bytes (catalog.validation.upload_bytes): the view
    hands the upload service bytes, which checks what they are."""

    def to_internal_value(self, data):
        return upload_bytes(data)
