"""Public and owner API views (SPEC §3). Each operation: validate (an input serializer of
catalog.api.inputs) → one selector or service → render (an output serializer of catalog.api.outputs).
The OpenAPI schema is generated from those serializers and the `errors(...)` each operation lists."""

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import FileResponse, HttpResponse, HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiRequest, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.api import inputs, outputs
from catalog.api.cursors import encode_cursor
from catalog.api.openapi import errors
from catalog.api.parsers import BoundedJSONParser
from catalog.api.throttles import NetworkScopedThrottle, NetworkThrottle, UsernameThrottle
from catalog.errors import CatalogError, NotAllowed, StickerNotFound
from catalog.selectors import creators as creator_selectors
from catalog.selectors import details, lists, orphans, owner, stats
from catalog.services import assets, delivery, engagement, packs, uploads, viewers
from catalog.validation import path_id

IMAGE_TYPES = "image/png, image/jpeg, image/webp, image/gif"
PATH = OpenApiParameter.PATH
PACK_KEY = OpenApiParameter("pack_key", str, PATH, pattern=r"^[-a-zA-Z0-9_]+$", description="the pack's public key")
STICKER_ID = OpenApiParameter(
    "sticker_id", OpenApiTypes.INT64, PATH, description="the sticker's asset id (`.webp` may follow it in the URL)"
)
INTERACTION = OpenApiParameter("interaction", str, PATH, enum=["open", "like", "dislike", "download"])


def request_id(request) -> str:
    return getattr(request, "request_id", "")


def sticker_path_id(raw: str) -> int:
    asset_id = path_id(raw)
    if asset_id is None:
        raise StickerNotFound("sticker not found")
    return asset_id


class CatalogView(APIView):
    """Base of every catalog API view: session + token auth, JSON in, JSON out."""

    parser_classes = [BoundedJSONParser]
    # The query parameters the view reads, on a view whose anonymous GETs the read cache may keep
    # (catalog.api.cache): its keys are built from these and nothing else. None: never cached.
    cache_query_params: tuple[str, ...] | None = None

    @property
    def anonymous(self) -> bool:
        return viewers.is_anonymous(self.request)

    @property
    def viewer_key(self) -> str:
        return viewers.actor_key(self.request)


class OwnerView(CatalogView):
    permission_classes = [IsAuthenticated]


def pack_detail_response(request, pack_key: str, *, status_code: int = 200) -> Response:
    """The pack as its owner sees it after a change (they are logged in: never anonymous)."""
    detail = details.pack_detail(pack_key=pack_key, viewer=request.user, viewer_key="")
    context = {"anonymous": False, "for_owner": detail.owned_by_viewer}
    return Response(outputs.PackDetailEnvelopeOut.render({"data": detail}, context), status=status_code)


def pack_list_body(query: dict, *, anonymous: bool, viewer_key: str) -> dict:
    """GET /api/sticker-packs for validated `query` (inputs.PackListQuery): the body, rendered."""
    page = lists.pack_list(anonymous=anonymous, viewer_key=viewer_key, **query)
    next_offset = query["offset"] + len(page.cards) if page.has_more else None
    next_cursor = None
    if page.has_more and page.last is not None:
        next_cursor = encode_cursor(query["sort"], *page.last, next_offset, page.pack_ids)
    body = {
        "data": page.cards,
        "pagination": {
            "limit": query["limit"],
            "offset": query["offset"],
            "has_more": page.has_more,
            "next_offset": next_offset,
            "next_cursor": next_cursor,
        },
        "filters": {
            "q": query["q"] or None,
            "sort": query["sort"],
            "categories": query["categories"],
            "include_sensitive": query["include_sensitive"],
            "visibility": "public",
        },
    }
    return outputs.PackListOut.render(body, {"anonymous": anonymous})


class PackCollectionView(CatalogView):
    permission_classes = [IsAuthenticatedOrReadOnly]
    cache_query_params = inputs.PackListQuery.names()

    @extend_schema(
        operation_id="sticker_packs_list",
        parameters=[inputs.PackListQuery],
        responses={200: outputs.PackListOut, **errors()},
    )
    def get(self, request):
        anonymous = self.anonymous
        query = inputs.PackListQuery.parse(request.query_params, anonymous=anonymous)
        return Response(pack_list_body(query, anonymous=anonymous, viewer_key=self.viewer_key))

    @extend_schema(
        operation_id="sticker_packs_create",
        request=inputs.PackWriteInput,
        responses={
            201: outputs.PackDetailEnvelopeOut,
            **errors(403, 409, 415, s403="a session request without its CSRF token (CSRF_FAILED)",
                     s409="PACK_LIMIT_REACHED: the owner has STICKER_PACK_MAX_PACKS_PER_OWNER packs"),
        },
    )  # fmt: skip
    def post(self, request):
        data = inputs.PackWriteInput.parse(request.data)
        pack = packs.pack_create(user=request.user, data=data, request_id=request_id(request))
        return pack_detail_response(request, pack.pack_key, status_code=201)


@extend_schema_view(
    get=extend_schema(parameters=[PACK_KEY]),
    patch=extend_schema(parameters=[PACK_KEY]),
    delete=extend_schema(parameters=[PACK_KEY]),
)
class PackView(CatalogView):
    permission_classes = [IsAuthenticatedOrReadOnly]
    cache_query_params = ()

    @extend_schema(
        operation_id="sticker_packs_retrieve",
        responses={200: outputs.PackDetailEnvelopeOut, **errors(404)},
    )
    def get(self, request, pack_key):
        anonymous = self.anonymous
        detail = details.pack_detail(pack_key=pack_key, viewer=request.user, viewer_key=self.viewer_key)
        context = {"anonymous": anonymous, "for_owner": detail.owned_by_viewer}
        return Response(outputs.PackDetailEnvelopeOut.render({"data": detail}, context))

    @extend_schema(
        operation_id="sticker_packs_update",
        request=inputs.PackWriteInput,
        responses={
            200: outputs.PackDetailEnvelopeOut,
            **errors(403, 404, 409, 415, s409="MODERATION_LOCKED: staff marked the pack sensitive"),
        },
    )
    def patch(self, request, pack_key):
        data = inputs.PackWriteInput.parse(request.data, partial=True)
        packs.pack_update(user=request.user, pack_key=pack_key, data=data, request_id=request_id(request))
        return pack_detail_response(request, pack_key)

    @extend_schema(operation_id="sticker_packs_destroy", responses={204: None, **errors(403, 404)})
    def delete(self, request, pack_key):
        packs.pack_delete(user=request.user, pack_key=pack_key, request_id=request_id(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(post=extend_schema(parameters=[PACK_KEY]))
class PackPublishView(OwnerView):
    @extend_schema(
        operation_id="sticker_packs_publish",
        request=None,
        responses={
            200: outputs.PackDetailEnvelopeOut,
            **errors(403, 404, 409, s409="PACK_EMPTY (no sticker yet) or MODERATION_LOCKED (a hold by staff)"),
        },
    )
    def post(self, request, pack_key):
        packs.pack_publish(user=request.user, pack_key=pack_key, request_id=request_id(request))
        return pack_detail_response(request, pack_key)


@extend_schema_view(post=extend_schema(parameters=[PACK_KEY]))
class StickerUploadView(OwnerView):
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = [NetworkScopedThrottle]
    throttle_scope = "upload"

    @extend_schema(
        operation_id="sticker_upload",
        request={
            "multipart/form-data": OpenApiRequest(
                inputs.StickerUploadInput, encoding={"file": {"contentType": IMAGE_TYPES}}
            )
        },
        responses={
            201: outputs.UploadResultOut,
            200: outputs.UploadResultOut,
            **errors(
                403, 404, 409, 415, 422, 429, 503,
                s409="PACK_FULL: the pack holds STICKER_PACK_MAX_ITEMS stickers",
                s413="FILE_TOO_LARGE: the body or the image is over its limit",
                s415="UNSUPPORTED_MEDIA: not a PNG, JPEG, WebP or GIF image (or not a multipart form)",
                s422="INVALID_IMAGE, IMAGE_TOO_LARGE, TOO_MANY_FRAMES, IMAGE_TOO_COMPLEX",
            ),
        },
    )  # fmt: skip
    def post(self, request, pack_key):
        form = inputs.StickerUploadInput.parse(request.data)
        result = uploads.sticker_upload(
            user=request.user,
            pack_key=pack_key,
            data=form["file"],
            emojis=form.get("emojis"),
            accessibility_label=form.get("accessibility_label", ""),
            upload_id=form.get("upload_id"),
            request_id=request_id(request),
        )
        body = outputs.UploadResultOut.render({"data": result.item, "created": result.created}, {"anonymous": False})
        return Response(body, status=201 if result.created else 200)


@extend_schema_view(
    get=extend_schema(parameters=[PACK_KEY, STICKER_ID]),
    patch=extend_schema(parameters=[PACK_KEY, STICKER_ID]),
    delete=extend_schema(parameters=[PACK_KEY, STICKER_ID]),
)
class StickerView(CatalogView):
    permission_classes = [IsAuthenticatedOrReadOnly]

    @extend_schema(
        operation_id="sticker_retrieve",
        responses={
            (200, "image/webp"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="the bytes; `public, max-age=86400, immutable` only for stickers classified safe in "
                "listed packs that are not sensitive (owner's or staff's mark), else `private, max-age=60` "
                "(docs/api.md, Caching and moderation)",
            ),
            302: OpenApiResponse(description="to a signed object-storage URL, or the CDN (docs/api.md)"),
            304: OpenApiResponse(description="If-None-Match holds the sticker's ETag"),
            **errors(403, 404, 503, s403="NOT_ALLOWED: a sensitive sticker, and the viewer is not logged in"),
        },
    )
    def get(self, request, pack_key, sticker_id):
        sticker = details.sticker_for_delivery(
            pack_key, sticker_path_id(sticker_id), viewer=request.user, anonymous=self.anonymous
        )
        plan = delivery.sticker_delivery_plan(sticker)
        asset = sticker.asset
        etag = f'"{asset.sha256}"'
        if plan.redirect_url:
            response = HttpResponseRedirect(plan.redirect_url)
        elif etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
            response = HttpResponse(status=304)
            response["ETag"] = etag
        else:
            response = FileResponse(assets.asset_bytes_open(asset), content_type=asset.mimetype)
            response["Content-Length"] = str(asset.size_bytes)
            response["ETag"] = etag
        response["Cache-Control"] = plan.cache_control
        response["Vary"] = "Cookie, Authorization"
        return response

    @extend_schema(
        operation_id="sticker_move",
        request=inputs.StickerMoveInput,
        responses={
            200: outputs.PackDetailEnvelopeOut,
            **errors(403, 404, 409, 415, s409="POSITION_OUT_OF_RANGE: past the pack's last sticker"),
        },
    )
    def patch(self, request, pack_key, sticker_id):
        asset_id = sticker_path_id(sticker_id)
        move = inputs.StickerMoveInput.parse(request.data)
        packs.sticker_move(
            user=request.user,
            pack_key=pack_key,
            asset_id=asset_id,
            position=move["position"],
            request_id=request_id(request),
        )
        return pack_detail_response(request, pack_key)

    @extend_schema(operation_id="sticker_destroy", responses={204: None, **errors(403, 404)})
    def delete(self, request, pack_key, sticker_id):
        packs.sticker_remove(
            user=request.user, pack_key=pack_key, asset_id=sticker_path_id(sticker_id), request_id=request_id(request)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class CsrfExemptSessionAuthentication(SessionAuthentication):
    """Engagement POSTs come from the web client without a CSRF token (SPEC §3); they change
    nothing but anonymous counters, deduplicated per actor and throttled."""

    def enforce_csrf(self, request):
        return None


class EngagementView(CatalogView):
    """No body, no CSRF token. The actor is the logged-in user, else the signed viewer id (cookie or
    X-Viewer-Key), else the client's network. Anonymous interactions are capped per network; beyond
    a cap the answer is the same 200. An answer to a request without the viewer cookie sets it."""

    # Actors: catalog.services.viewers; caps: catalog.services.engagement; cookie: catalog.viewer_cookie.

    authentication_classes = [TokenAuthentication, CsrfExemptSessionAuthentication]
    throttle_classes = [NetworkScopedThrottle]
    throttle_scope = "engagement"
    parser_classes = [BoundedJSONParser, FormParser]

    @extend_schema(
        operation_id="sticker_packs_engage",
        request=None,
        parameters=[PACK_KEY, INTERACTION, inputs.EngagementQuery],
        responses={200: outputs.EngagementEnvelopeOut, **errors(404, 429)},
    )
    def post(self, request, pack_key, interaction):
        query = inputs.EngagementQuery.parse(request.query_params)
        pack, result = engagement.engagement_record_by_key(
            pack_key=pack_key,
            interaction=interaction,
            viewer=request.user,
            actor_key=self.viewer_key,
            network_key=viewers.anonymous_network_key(request),
            session_key=viewers.session_key(request),
            source=query["source"],
            request_id=request_id(request),
        )
        data = {"pack_key": pack.pack_key, "interaction": interaction, "recorded": result.recorded}
        return Response(outputs.EngagementEnvelopeOut.render({"data": {**data, "engagement": result.engagement}}))


class ViewerKeyView(CatalogView):
    """A signed anonymous viewer id for a client that keeps no cookies: send it as X-Viewer-Key.
    Throttled per network; engagement caps count per network whatever the key."""

    authentication_classes = []
    throttle_classes = [NetworkThrottle]
    throttle_scope = "viewer_key"

    @extend_schema(request=None, responses={200: outputs.ViewerKeyEnvelopeOut, **errors(429)})
    def post(self, request):
        key = viewers.sign_viewer_id(viewers.new_viewer_id())
        return Response(outputs.ViewerKeyEnvelopeOut.render({"data": {"viewer_key": key}}))


class StatsView(CatalogView):
    cache_query_params = ()

    @extend_schema(responses={200: outputs.CatalogStatsEnvelopeOut, **errors()})
    def get(self, request):
        return Response(outputs.CatalogStatsEnvelopeOut.render({"data": stats.catalog_stats()}))


class CreatorsView(CatalogView):
    cache_query_params = inputs.CreatorsQuery.names()

    @extend_schema(parameters=[inputs.CreatorsQuery], responses={200: outputs.CreatorsEnvelopeOut, **errors()})
    def get(self, request):
        query = inputs.CreatorsQuery.parse(request.query_params)
        page = creator_selectors.creators_page(limit=query["limit"])
        return Response(outputs.CreatorsEnvelopeOut.render({"data": page}, {"anonymous": self.anonymous}))


class MarketplaceStatsView(CatalogView):
    cache_query_params = ()

    @extend_schema(responses={200: outputs.MarketplaceStatsOut, **errors()})
    def get(self, request):
        return Response(outputs.MarketplaceStatsOut.render(stats.marketplace_stats()))


class OrphanStickersView(CatalogView):
    cache_query_params = inputs.OrphanStickersQuery.names()

    @extend_schema(parameters=[inputs.OrphanStickersQuery], responses={200: outputs.OrphanListOut, **errors()})
    def get(self, request):
        query = inputs.OrphanStickersQuery.parse(request.query_params)
        limit, offset = query["limit"], query["offset"]
        rows, has_more = orphans.orphan_stickers_page(limit=limit, offset=offset)
        pagination = {
            "limit": limit,
            "offset": offset,
            "has_more": has_more,
            "next_offset": offset + len(rows) if has_more else None,
            "next_cursor": None,
        }
        return Response(outputs.OrphanListOut.render({"data": rows, "pagination": pagination}))


class SupportView(CatalogView):
    cache_query_params = ()

    @extend_schema(
        responses={200: outputs.SupportEnvelopeOut, **errors(404, s404="NOT_FOUND: no support contact is configured")}
    )
    def get(self, request):
        link = outputs.whatsapp_link(settings.SUPPORT_WHATSAPP_PHONE, settings.SUPPORT_WHATSAPP_TEXT)
        if link is None:
            raise CatalogError("no support contact is configured", code="NOT_FOUND", status=404)
        return Response(outputs.SupportEnvelopeOut.render({"data": link}))


class MeView(OwnerView):
    @extend_schema(responses={200: outputs.OwnerDashboardEnvelopeOut, **errors()})
    def get(self, request):
        dashboard = owner.owner_dashboard(user=request.user)
        context = {"anonymous": False, "for_owner": True}
        return Response(outputs.OwnerDashboardEnvelopeOut.render({"data": dashboard}, context))


class AuthTokenView(CatalogView):
    """Throttled per network and per username tried; failed logins here and at the admin login count
    towards a lockout (429, even with the right password, until it expires or staff lift it)."""

    # Lockout: django-axes through authenticate() (config.lockout); throttles: catalog.api.throttles.

    authentication_classes = []
    parser_classes = [BoundedJSONParser, FormParser, MultiPartParser]
    throttle_classes = [NetworkThrottle, UsernameThrottle]
    throttle_scope = "auth"

    @extend_schema(
        operation_id="auth_token",
        request=inputs.TokenRequestInput,
        responses={
            200: outputs.TokenResponseOut,
            **errors(
                403, 415, 429,
                s400="INVALID_CREDENTIALS (wrong username or password), INVALID_INPUT, ...",
                s403="NOT_ALLOWED: the account is disabled",
                s429="RATE_LIMITED: throttled, or locked out after failed logins",
            ),
        },
    )  # fmt: skip
    def post(self, request):
        credentials = inputs.TokenRequestInput.parse(request.data)
        user = authenticate(request, username=credentials["username"], password=credentials["password"])
        if getattr(request, "axes_locked_out", False):
            raise CatalogError("too many failed logins; try again later", code="RATE_LIMITED", status=429)
        if user is None:
            raise CatalogError("wrong username or password", code="INVALID_CREDENTIALS", status=400)
        if not user.is_active:
            raise NotAllowed("this account is disabled")
        token, _ = Token.objects.get_or_create(user=user)
        return Response(outputs.TokenResponseOut.render({"token": token.key}))
