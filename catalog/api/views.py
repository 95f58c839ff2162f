"""Public and owner API views (SPEC §3): thin — parse, call a service, shape the response."""

from django.contrib.auth import authenticate
from django.http import FileResponse, HttpResponse, HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import presenters
from catalog.api import schema
from catalog.api.parsers import BoundedJSONParser
from catalog.api.throttles import NetworkScopedThrottle, NetworkThrottle, UsernameThrottle
from catalog.errors import CatalogError, InvalidInput, NotAllowed, StickerNotFound
from catalog.services import assets, delivery, engagement, packs, reads, stats, uploads, viewers
from catalog.validation import path_id, plain_string

USERNAME_MAX = 150  # Django's username field
PASSWORD_MAX = 1024

LIST_PARAMETERS = [
    OpenApiParameter("q", str, description="search name, publisher, description and tags"),
    OpenApiParameter(
        "sort",
        str,
        description="ranking (default) | popular | trending | recent | new | likes | liked | comments | downloads",
    ),
    OpenApiParameter("categories", str, description="comma-separated tags, any match"),
    OpenApiParameter("include_sensitive", bool, description="honoured for logged-in viewers only"),
    OpenApiParameter("visibility", str, description="accepted; only public packs are listed"),
    OpenApiParameter("limit", int, description="1..60, default 24"),
    OpenApiParameter("offset", int),
    OpenApiParameter("cursor", str, description="next_cursor of the previous page"),
]


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


class PackCollectionView(CatalogView):
    permission_classes = [IsAuthenticatedOrReadOnly]
    cache_query_params = tuple(parameter.name for parameter in LIST_PARAMETERS)

    @extend_schema(
        operation_id="sticker_packs_list", parameters=LIST_PARAMETERS, responses={200: schema.PackList, **schema.ERRORS}
    )
    def get(self, request):
        params = reads.list_params(request.query_params, anonymous=self.anonymous)
        return Response(reads.pack_list(params, anonymous=self.anonymous, viewer_key=self.viewer_key))

    @extend_schema(
        operation_id="sticker_packs_create",
        request=schema.PackWrite,
        responses={201: schema.PackDetailEnvelope, **schema.ERRORS},
    )
    def post(self, request):
        pack = packs.pack_create(user=request.user, data=request.data, request_id=request_id(request))
        return Response(
            reads.pack_detail(pack.pack_key, viewer=request.user, anonymous=False, viewer_key=""), status=201
        )


class PackView(CatalogView):
    permission_classes = [IsAuthenticatedOrReadOnly]
    cache_query_params = ()

    @extend_schema(operation_id="sticker_packs_retrieve", responses={200: schema.PackDetailEnvelope, **schema.ERRORS})
    def get(self, request, pack_key):
        return Response(
            reads.pack_detail(pack_key, viewer=request.user, anonymous=self.anonymous, viewer_key=self.viewer_key)
        )

    @extend_schema(
        operation_id="sticker_packs_update",
        request=schema.PackWrite,
        responses={200: schema.PackDetailEnvelope, **schema.ERRORS},
    )
    def patch(self, request, pack_key):
        packs.pack_update(user=request.user, pack_key=pack_key, data=request.data, request_id=request_id(request))
        return Response(reads.pack_detail(pack_key, viewer=request.user, anonymous=False, viewer_key=""))

    @extend_schema(operation_id="sticker_packs_destroy", responses={204: None, **schema.ERRORS})
    def delete(self, request, pack_key):
        packs.pack_delete(user=request.user, pack_key=pack_key, request_id=request_id(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PackPublishView(OwnerView):
    @extend_schema(request=None, responses={200: schema.PackDetailEnvelope, **schema.ERRORS})
    def post(self, request, pack_key):
        packs.pack_publish(user=request.user, pack_key=pack_key, request_id=request_id(request))
        return Response(reads.pack_detail(pack_key, viewer=request.user, anonymous=False, viewer_key=""))


class StickerUploadView(OwnerView):
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = [NetworkScopedThrottle]
    throttle_scope = "upload"

    @extend_schema(
        request={"multipart/form-data": schema.UploadForm},
        responses={201: schema.UploadResult, 200: schema.UploadResult, **schema.ERRORS},
    )
    def post(self, request, pack_key):
        data = uploads.read_upload(request.FILES.get("file"))
        result = uploads.sticker_upload(
            user=request.user,
            pack_key=pack_key,
            data=data,
            emojis=request.data.get("emojis"),
            accessibility_label=request.data.get("accessibility_label", ""),
            upload_id=request.data.get("upload_id"),
            request_id=request_id(request),
        )
        pack = result.item.pack
        body = {"data": presenters.item_data(result.item, pack, anonymous=False), "created": result.created}
        return Response(body, status=201 if result.created else 200)


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
            304: None,
            **schema.ERRORS,
        },
    )
    def get(self, request, pack_key, sticker_id):
        sticker = reads.sticker_for_delivery(
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
        request=schema.StickerMove,
        responses={200: schema.PackDetailEnvelope, **schema.ERRORS},
    )
    def patch(self, request, pack_key, sticker_id):
        packs.sticker_move(
            user=request.user,
            pack_key=pack_key,
            asset_id=sticker_path_id(sticker_id),
            position=request.data.get("position") if isinstance(request.data, dict) else None,
            request_id=request_id(request),
        )
        return Response(reads.pack_detail(pack_key, viewer=request.user, anonymous=False, viewer_key=""))

    @extend_schema(operation_id="sticker_destroy", responses={204: None, **schema.ERRORS})
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
        operation_id="sticker_packs_engage", request=None, responses={200: schema.EngagementEnvelope, **schema.ERRORS}
    )
    def post(self, request, pack_key, interaction):
        pack, result = engagement.engagement_record_by_key(
            pack_key=pack_key,
            interaction=interaction,
            viewer=request.user,
            actor_key=self.viewer_key,
            network_key=viewers.anonymous_network_key(request),
            session_key=viewers.session_key(request),
            source=str(request.query_params.get("source", "api"))[:32].strip() or "api",
            request_id=request_id(request),
        )
        return Response(
            {
                "data": {
                    "pack_key": pack.pack_key,
                    "interaction": interaction,
                    "recorded": result.recorded,
                    "engagement": presenters.engagement_data(result.engagement),
                }
            }
        )


class ViewerKeyView(CatalogView):
    """A signed anonymous viewer id for a client that keeps no cookies: send it as X-Viewer-Key.
    Throttled per network; engagement caps count per network whatever the key."""

    authentication_classes = []
    throttle_classes = [NetworkThrottle]
    throttle_scope = "viewer_key"

    @extend_schema(request=None, responses={200: schema.ViewerKeyEnvelope, 429: schema.Error})
    def post(self, request):
        return Response({"data": {"viewer_key": viewers.sign_viewer_id(viewers.new_viewer_id())}})


class StatsView(CatalogView):
    cache_query_params = ()

    @extend_schema(responses=schema.CatalogStatsEnvelope)
    def get(self, request):
        return Response({"data": stats.catalog_stats()})


class CreatorsView(CatalogView):
    cache_query_params = ("limit",)

    @extend_schema(
        parameters=[OpenApiParameter("limit", int, description="1..60, default 20")], responses=schema.CreatorsEnvelope
    )
    def get(self, request):
        limit = reads.parse_limit(request.query_params.get("limit"), default=20)
        ranked = stats.creators(limit=limit)
        top = stats.creators_top_snapshots([c["owner_id"] for c in ranked])
        data = []
        for creator in ranked:
            snap = top.get(creator["owner_id"])
            top_pack = reads.pack_summary_for(snap, anonymous=self.anonymous) if snap else None
            public = {field: value for field, value in creator.items() if field != "owner_id"}
            data.append({**public, "top_pack": top_pack})
        return Response({"data": data})


class MarketplaceStatsView(CatalogView):
    cache_query_params = ()

    @extend_schema(responses=schema.MarketplaceStats)
    def get(self, request):
        return Response(stats.marketplace_stats())


class OrphanStickersView(CatalogView):
    cache_query_params = ("limit", "offset")

    @extend_schema(
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("offset", int)], responses=schema.OrphanList
    )
    def get(self, request):
        limit = reads.parse_limit(request.query_params.get("limit"))
        offset = reads.parse_offset(request.query_params.get("offset"))
        rows, has_more = stats.orphan_stickers_page(limit=limit, offset=offset)
        return Response(
            {
                "data": [presenters.orphan_sticker_data(asset) for asset in rows],
                "pagination": {
                    "limit": limit,
                    "offset": offset,
                    "has_more": has_more,
                    "next_offset": offset + len(rows) if has_more else None,
                    "next_cursor": None,
                },
            }
        )


class SupportView(CatalogView):
    cache_query_params = ()

    @extend_schema(responses={200: schema.SupportEnvelope, 404: schema.Error})
    def get(self, request):
        from django.conf import settings

        link = presenters.whatsapp_link(settings.SUPPORT_WHATSAPP_PHONE, settings.SUPPORT_WHATSAPP_TEXT)
        if link is None:
            raise CatalogError("no support contact is configured", code="NOT_FOUND", status=404)
        return Response({"data": link})


class MeView(OwnerView):
    @extend_schema(responses={200: schema.MeEnvelope, 401: schema.Error})
    def get(self, request):
        return Response(reads.owner_packs(request.user))


class AuthTokenView(CatalogView):
    """Throttled per network and per username tried; failed logins here and at the admin login count
    towards a lockout (429, even with the right password, until it expires or staff lift it)."""

    # Lockout: django-axes through authenticate() (config.lockout); throttles: catalog.api.throttles.

    authentication_classes = []
    parser_classes = [BoundedJSONParser, FormParser, MultiPartParser]
    throttle_classes = [NetworkThrottle, UsernameThrottle]
    throttle_scope = "auth"

    @extend_schema(request=schema.TokenRequest, responses={200: schema.TokenResponse, **schema.ERRORS})
    def post(self, request):
        username = request.data.get("username")
        password = request.data.get("password")
        if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
            raise InvalidInput("username and password are required")
        username = plain_string(username, "username", max_length=USERNAME_MAX)
        password = plain_string(password, "password", max_length=PASSWORD_MAX)
        user = authenticate(request, username=username, password=password)
        if getattr(request, "axes_locked_out", False):
            raise CatalogError("too many failed logins; try again later", code="RATE_LIMITED", status=429)
        if user is None:
            raise CatalogError("wrong username or password", code="INVALID_CREDENTIALS", status=400)
        if not user.is_active:
            raise NotAllowed("this account is disabled")
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
