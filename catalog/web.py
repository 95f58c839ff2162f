"""Server-rendered pages (SPEC §3 web pages)."""

from django.http import Http404
from django.shortcuts import render

from catalog import selectors


def browse(request):
    packs = selectors.pack_listed_queryset().filter(is_sensitive=False).order_by("-published_at", "-id")[:48]
    return render(request, "catalog/browse.html", {"packs": packs})


def pack_page(request, pack_key: str):
    pack = selectors.pack_get_visible(pack_key=pack_key, viewer=request.user)
    if pack is None:
        raise Http404("pack not found")
    items = pack.items.select_related("asset").order_by("position")
    return render(request, "catalog/pack.html", {"pack": pack, "items": items})
