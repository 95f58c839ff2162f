"""Server-rendered pages (SPEC §3 web pages)."""

from django.http import Http404
from django.shortcuts import render

from catalog import selectors


def browse(request):
    # The API list's selector: a pack the API hides (explicit, suggestive, marked) is not shown here.
    listed = selectors.listed_for_viewer(anonymous=not request.user.is_authenticated)
    packs = [snapshot.pack for snapshot in listed.select_related("pack").order_by("-published_at", "-pack_id")[:48]]
    return render(request, "catalog/browse.html", {"packs": packs})


def pack_page(request, pack_key: str):
    pack = selectors.pack_get_visible(pack_key=pack_key, viewer=request.user)
    if pack is None:
        raise Http404("pack not found")
    items = pack.items.select_related("asset").order_by("position")
    return render(request, "catalog/pack.html", {"pack": pack, "items": items})
