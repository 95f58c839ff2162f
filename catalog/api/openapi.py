"""How the API documents itself (drf-spectacular): the error responses of each operation, the
security schemes, and what every operation does alike that the serializers cannot say.

- `errors(...)`: the statuses an operation can answer with the Error body, beside its successes.
- `CatalogAutoSchema`: component names without the Out/Input suffix; a body serializer that refuses
  unknown fields says `additionalProperties: false`.
- `postprocess`: an empty query value counts as not given (`allowEmptyValue`), and list-valued query
  parameters are one comma-separated value (`style: form, explode: false`), as the views read them.
"""

import inspect

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse

from catalog.api.outputs import ErrorOut

ERROR_DESCRIPTIONS = {
    400: "invalid input: INVALID_INPUT, INVALID_CHARACTERS, TOO_MANY_FIELDS (more query parameters, form fields "
    "or files than allowed), ...",
    401: "not logged in, or the token is not valid (NOT_AUTHENTICATED)",
    403: "not allowed (NOT_ALLOWED), or a session request without its CSRF token (CSRF_FAILED)",
    404: "not found (PACK_NOT_FOUND, STICKER_NOT_FOUND, NOT_FOUND)",
    406: "the Accept header allows no JSON (NOT_ACCEPTABLE)",
    409: "in conflict with the pack's state",
    413: "the request body is over REQUEST_BODY_MAX_BYTES (FILE_TOO_LARGE)",
    415: "the body is not of a media type the operation reads (UNSUPPORTED_MEDIA)",
    422: "the image cannot become a sticker",
    429: "throttled (RATE_LIMITED)",
    503: "the sticker store does not answer (STORAGE_ERROR)",
}
# What any catalog view can answer: a malformed query or body, a token that is not valid (token
# authentication runs on public reads too), an Accept header without JSON, a body over the limit.
COMMON = (400, 401, 406, 413)


def errors(*statuses: int, **descriptions: str) -> dict:
    """{status: the Error body} for COMMON and `statuses`; `descriptions` (e.g. s409="...") replace
    the generic text of a status."""
    result = {}
    for status in sorted({*COMMON, *statuses}):
        text = descriptions.get(f"s{status}") or ERROR_DESCRIPTIONS[status]
        result[status] = OpenApiResponse(ErrorOut, description=text)
    return result


class CatalogAutoSchema(AutoSchema):
    def get_serializer_name(self, serializer, direction):
        name = super().get_serializer_name(serializer, direction)
        for suffix in ("Out", "Input"):
            if name.endswith(suffix) and len(name) > len(suffix):
                return name.removesuffix(suffix)
        return name

    def get_description(self):
        """The method's docstring, else the view class's own (not one inherited from a base view)."""
        method = getattr(self.view, self.method.lower(), None)
        return (method.__doc__ and super().get_description()) or inspect.cleandoc(
            type(self.view).__dict__.get("__doc__") or ""
        )

    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if type(serializer).__dict__.get("__doc__") is None:
            schema.pop("description", None)  # not a base class's docstring
        if direction == "request" and getattr(serializer, "forbid_unknown", False):
            schema["additionalProperties"] = False
        return schema

    def _get_request_for_media_type(self, serializer, direction="request"):
        """A body serializer with `partial_on_patch = False` is not made partial for a PATCH (its
        fields stay required)."""
        if self.method == "PATCH" and getattr(serializer, "partial_on_patch", True) is False:
            self.method = "POST"
            try:
                return super()._get_request_for_media_type(serializer, direction)
            finally:
                self.method = "PATCH"
        return super()._get_request_for_media_type(serializer, direction)


def _follow_pack(*operation_ids: str, key: str = "$response.body#/data/pack_key") -> dict:
    return {op: {"operationId": op, "parameters": {"pack_key": key}} for op in operation_ids}


def _follow_sticker(*operation_ids: str) -> dict:
    parameters = {"pack_key": "$request.path.pack_key", "sticker_id": "$response.body#/data/sticker_id"}
    return {op: {"operationId": op, "parameters": parameters} for op in operation_ids}


# OpenAPI links: where a response's ids lead (clients and the fuzzer's stateful phase follow them).
LINKS = {
    ("/api/sticker-packs", "post", "201"): _follow_pack(
        "sticker_packs_retrieve", "sticker_packs_update", "sticker_packs_destroy", "sticker_packs_publish",
        "sticker_upload",
    ),
    ("/api/sticker-packs/{pack_key}/stickers", "post", "201"): _follow_sticker(
        "sticker_retrieve", "sticker_move", "sticker_destroy"
    ),
    ("/api/sticker-packs/{pack_key}/stickers", "post", "200"): _follow_sticker(
        "sticker_retrieve", "sticker_move", "sticker_destroy"
    ),
}  # fmt: skip


def postprocess(result, generator, request, public):
    for (path, method, status), links in LINKS.items():
        response = result.get("paths", {}).get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is not None:
            response["links"] = links
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter.get("in") != "query":
                    continue
                if not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
                if parameter.get("schema", {}).get("type") == "array":
                    parameter["style"], parameter["explode"] = "form", False
    return result


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "rest_framework.authentication.TokenAuthentication"
    name = "tokenAuth"
    priority = 1

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Authorization: Token <token>`, the token from POST /api/auth/token",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "rest_framework.authentication.SessionAuthentication"
    name = "cookieAuth"
    priority = 1

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "the web pages' login session; writes also need the CSRF token (X-CSRFToken header)",
        }


class CsrfExemptSessionScheme(OpenApiAuthenticationExtension):
    target_class = "catalog.api.views.CsrfExemptSessionAuthentication"
    name = "viewerSessionAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "the login session, without a CSRF token (engagement only)",
        }
