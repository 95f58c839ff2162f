"""Request body parsers with cost bounds (catalog.validation): a JSON body nested deeper than
MAX_JSON_DEPTH, carrying NaN/Infinity or lone surrogates is a 400 with a code, never a 500."""

import codecs

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from catalog.validation import loads_bounded


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        return loads_bounded(text)  # its CatalogError reaches the API's exception handler as is
