"""Server-rendered pages (SPEC §3 web pages): browse, pack, login, my packs, create and edit.

Pages read through the selectors the API uses (catalog.selectors: the snapshot-backed list,
and the detail with its "safe for this viewer" rules), parse the list's query and render packs
with the API's own serializers (catalog.api), and write through the same services. Every form posts to a page view here and redirects, so the pages work without JS;
the modules in static/catalog/ enhance them by calling the API with the session.
"""

import io
import zipfile
from functools import wraps
from types import SimpleNamespace
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from catalog import selectors
from catalog.api import outputs
from catalog.api.inputs import SORT_ALIASES, PackListQuery
from catalog.api.throttles import NetworkScopedThrottle
from catalog.api.views import pack_list_body
from catalog.errors import CatalogError, InvalidInput, NotAllowed, PackNotFound
from catalog.forms import PackForm
from catalog.selectors import details, owner
from catalog.services import assets, engagement, packs, uploads, viewers
from catalog.validation import bounded_int, upload_bytes

# (value of `sort` in the page's links, label); values are the API's sort names.
SORTS = [
    ("ranking", "Top"),
    ("trending", "Trending"),
    ("new", "New"),
    ("likes", "Most liked"),
    ("downloads", "Most downloaded"),
]
CATEGORY_CHIPS = 12
CATEGORY_CHIPS_CACHE_SECONDS = 60
# Cards (of the first page) and stickers loaded at once: about what a desktop shows above the
# fold, so the largest image is not waiting for lazy loading; the rest load as they scroll in.
EAGER_IMAGES = 8


def _request_id(request) -> str:
    return getattr(request, "request_id", "")


def _throttled(request, scope: str) -> bool:
    """The API's throttle for `scope` (same counters), for the page forms that do what an API
    call does; True when the request is over the rate."""
    return not NetworkScopedThrottle().allow_request(request, SimpleNamespace(throttle_scope=scope))


# --- Browse -------------------------------------------------------------------------------


def _browse_query(filters: dict, **changes) -> str:
    values = {
        "q": filters.get("q") or "",
        "sort": filters.get("sort") or "",
        "categories": ",".join(filters.get("categories") or []),
        "include_sensitive": "1" if filters.get("include_sensitive") else "",
        **changes,
    }
    if values["sort"] == "ranking":  # the default
        values["sort"] = ""
    return "?" + urlencode({k: v for k, v in values.items() if v})


def _categories(*, anonymous: bool, include_sensitive: bool) -> list[str]:
    key = f"catalog:web:categories:{int(anonymous)}{int(include_sensitive)}"
    found = cache.get(key)
    if found is None:
        found = selectors.popular_categories(
            anonymous=anonymous, include_sensitive=include_sensitive, limit=CATEGORY_CHIPS
        )
        cache.set(key, found, CATEGORY_CHIPS_CACHE_SECONDS)
    return found


def browse(request):
    """The ranked catalog (GET /api/sticker-packs rendered): search, sort, category chips and a
    "more" link carrying the API's cursor (the JS follows it as you scroll)."""
    anonymous = viewers.is_anonymous(request)
    error, status = "", 200
    try:
        query = PackListQuery.parse(request.GET, anonymous=anonymous)
        result = pack_list_body(query, anonymous=anonymous, viewer_key=viewers.actor_key(request))
    except InvalidInput as exc:
        error, status = exc.message, 400
        result = {"data": [], "pagination": {"next_cursor": None}, "filters": {}}
    filters = result["filters"]
    current_sort = filters.get("sort", "ranking")
    chosen = set(filters.get("categories") or [])
    categories = _categories(anonymous=anonymous, include_sensitive=bool(filters.get("include_sensitive")))
    categories += sorted(chosen - set(categories))
    next_cursor = result["pagination"]["next_cursor"]
    context = {
        "packs": result["data"],
        "filters": filters,
        "error": error,
        "partial": bool(request.GET.get("partial")),
        "eager": 0 if request.GET.get("cursor") or request.GET.get("offset") else EAGER_IMAGES,
        "sorts": [
            {
                "label": label,
                "url": _browse_query(filters, sort=value),
                "active": SORT_ALIASES[value] == current_sort,
            }
            for value, label in SORTS
        ],
        "chips": [
            {
                "label": tag,
                "url": _browse_query(filters, categories=",".join(sorted(chosen ^ {tag}))),
                "active": tag in chosen,
            }
            for tag in categories
        ],
        "more_url": _browse_query(filters, cursor=next_cursor) if next_cursor else "",
    }
    template = "catalog/_results.html" if context["partial"] else "catalog/browse.html"
    return render(request, template, context, status=status)


# --- Pack page ----------------------------------------------------------------------------


def _with_alt_text(items: list[dict]) -> list[dict]:
    for item in items:
        item["alt"] = item["accessibility_label"] or " ".join(item["emojis"]) or f"Sticker {item['position']}"
    return items


def _pack_detail(request, pack_key: str, *, anonymous: bool, viewer_key: str) -> dict:
    """The pack as GET /api/sticker-packs/{pack_key} renders it for this viewer."""
    detail = details.pack_detail(pack_key=pack_key, viewer=request.user, viewer_key=viewer_key)
    return outputs.PackDetailOut.render(detail, {"anonymous": anonymous, "for_owner": detail.owned_by_viewer})


def pack_page(request, pack_key: str):
    anonymous = viewers.is_anonymous(request)
    try:
        pack = _pack_detail(request, pack_key, anonymous=anonymous, viewer_key=viewers.actor_key(request))
    except PackNotFound:
        raise Http404("pack not found") from None
    _with_alt_text(pack["items"])
    context = {
        "pack": pack,
        "hidden_count": sum(1 for item in pack["items"] if item["asset_url"] is None),
        "eager": EAGER_IMAGES,
    }
    return render(request, "catalog/pack.html", context)


@require_POST
def pack_engage(request, pack_key: str, interaction: str):
    """Like, dislike or download from a form (no JS); the JS posts to the API instead."""
    if _throttled(request, "engagement"):
        messages.error(request, "Too many clicks: try again in a minute.")
        return redirect("pack-page", pack_key=pack_key)
    try:
        engagement.engagement_record_by_key(
            pack_key=pack_key,
            interaction=interaction,
            viewer=request.user,
            actor_key=viewers.actor_key(request),
            network_key=viewers.anonymous_network_key(request),
            session_key=viewers.session_key(request),
            source="web",
            request_id=_request_id(request),
        )
    except PackNotFound:
        raise Http404("pack not found") from None
    if interaction == "download":
        return redirect("pack-download", pack_key=pack_key)
    return redirect("pack-page", pack_key=pack_key)


def pack_download(request, pack_key: str):
    """The pack's stickers this viewer may see, as a zip of WebP files."""
    try:
        pack, items = details.pack_download_items(
            pack_key, viewer=request.user, anonymous=viewers.is_anonymous(request)
        )
    except PackNotFound:
        raise Http404("pack not found") from None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # WebP is compressed already
        for item in items:
            with assets.asset_bytes_open(item.asset) as handle:
                archive.writestr(f"{pack.pack_key}-{item.position:02d}.webp", handle.read())
    response = HttpResponse(buffer.getvalue(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{pack.pack_key}.zip"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- Owner pages --------------------------------------------------------------------------


@login_required
def my_packs(request):
    data = outputs.OwnerDashboardOut.render(
        owner.owner_dashboard(user=request.user), {"anonymous": False, "for_owner": True}
    )
    return render(request, "catalog/my_packs.html", {"packs": data["packs"], "stats": data["stats"]})


@login_required
def pack_new(request):
    form = PackForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            pack = packs.pack_create(user=request.user, data=form.service_data(), request_id=_request_id(request))
        except CatalogError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Pack “{pack.name}” created. Add stickers, then publish it.")
            return redirect("pack-edit", pack_key=pack.pack_key)
    return render(request, "catalog/pack_new.html", {"form": form}, status=400 if form.errors else 200)


def _owned_pack(request, pack_key: str):
    pack = selectors.pack_get_visible(pack_key=pack_key, viewer=request.user)
    if pack is None:
        raise Http404("pack not found")
    if pack.owner_id != request.user.pk:
        raise PermissionDenied("only the pack's owner may change it")
    return pack


@login_required
def pack_edit(request, pack_key: str):
    pack = _owned_pack(request, pack_key)
    form = PackForm(request.POST) if request.method == "POST" else PackForm.for_pack(pack)
    if request.method == "POST" and form.is_valid():
        try:
            packs.pack_update(
                user=request.user, pack_key=pack_key, data=form.service_data(), request_id=_request_id(request)
            )
        except CatalogError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Pack details saved.")
            return redirect("pack-edit", pack_key=pack_key)
    detail = _pack_detail(request, pack_key, anonymous=False, viewer_key="")
    _with_alt_text(detail["items"])
    context = {
        "pack": detail,
        "form": form,
        "max_items": settings.STICKER_PACK_MAX_ITEMS,
        "room": settings.STICKER_PACK_MAX_ITEMS - len(detail["items"]),
        "max_upload_mb": settings.STICKER_UPLOAD_SOURCE_MAX_BYTES // (1024 * 1024),
    }
    return render(request, "catalog/pack_edit.html", context, status=400 if form.errors else 200)


def owner_action(func):
    """A POST from the edit page: the owner's change through a service, its refusal shown as a
    message, then back to the edit page (or where the action sends the owner)."""

    @login_required
    @require_POST
    @wraps(func)
    def view(request, pack_key: str, **kwargs):
        _owned_pack(request, pack_key)  # 404 / 403 before any input is looked at
        try:
            response = func(request, pack_key, **kwargs)
        except PackNotFound:
            raise Http404("pack not found") from None
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from None
        except CatalogError as exc:
            messages.error(request, exc.message)
            response = None
        return response or redirect("pack-edit", pack_key=pack_key)

    return view


@owner_action
def pack_upload(request, pack_key: str):
    """Stickers from the file picker without JS: each file through the upload service, and a
    message per file (the API's message for a refused one)."""
    files = request.FILES.getlist("file")
    if not files:
        raise InvalidInput("Choose at least one image.")
    for upload in files:
        try:
            if _throttled(request, "upload"):
                raise CatalogError("too many uploads: try again in a minute", code="RATE_LIMITED", status=429)
            result = uploads.sticker_upload(
                user=request.user,
                pack_key=pack_key,
                data=upload_bytes(upload),
                emojis=request.POST.get("emojis"),
                request_id=_request_id(request),
            )
        except (PackNotFound, NotAllowed):
            raise
        except CatalogError as exc:
            messages.error(request, f"{upload.name}: {exc.message}")
        else:
            messages.success(request, f"{upload.name}: {'added' if result.created else 'already in the pack'}")
    return None


@owner_action
def sticker_move(request, pack_key: str, sticker_id: int):
    position = bounded_int(
        request.POST.get("position"), "position", default=0, low=1, high=settings.STICKER_PACK_MAX_ITEMS
    )
    packs.sticker_move(
        user=request.user, pack_key=pack_key, asset_id=sticker_id, position=position, request_id=_request_id(request)
    )
    return None


@owner_action
def sticker_remove(request, pack_key: str, sticker_id: int):
    packs.sticker_remove(user=request.user, pack_key=pack_key, asset_id=sticker_id, request_id=_request_id(request))
    messages.success(request, "Sticker removed.")
    return None


@owner_action
def pack_publish(request, pack_key: str):
    packs.pack_publish(user=request.user, pack_key=pack_key, request_id=_request_id(request))
    messages.success(request, "Published. A public pack shows in the catalog once its ranking is computed (seconds).")
    return None


@owner_action
def pack_delete(request, pack_key: str):
    pack = packs.pack_delete(user=request.user, pack_key=pack_key, request_id=_request_id(request))
    messages.success(request, f"Pack “{pack.name}” deleted.")
    return redirect("my-packs")
