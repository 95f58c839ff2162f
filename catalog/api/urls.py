"""API routes (SPEC §3): no trailing slashes; fixed names come before {pack_key}."""

from django.urls import path, re_path

from catalog.api import views

PACK = "sticker-packs/<slug:pack_key>"

urlpatterns = [
    path("auth/token", views.AuthTokenView.as_view(), name="api-auth-token"),
    path("viewer-key", views.ViewerKeyView.as_view(), name="api-viewer-key"),
    path("marketplace/stats", views.MarketplaceStatsView.as_view(), name="api-marketplace-stats"),
    path("sticker-packs", views.PackCollectionView.as_view(), name="api-packs"),
    path("sticker-packs/stats", views.StatsView.as_view(), name="api-packs-stats"),
    path("sticker-packs/creators", views.CreatorsView.as_view(), name="api-creators"),
    path("sticker-packs/me", views.MeView.as_view(), name="api-me"),
    path("sticker-packs/orphan-stickers", views.OrphanStickersView.as_view(), name="api-orphan-stickers"),
    path("sticker-packs/support", views.SupportView.as_view(), name="api-support"),
    path(PACK, views.PackView.as_view(), name="api-pack"),
    path(f"{PACK}/publish", views.PackPublishView.as_view(), name="api-pack-publish"),
    path(f"{PACK}/stickers", views.StickerUploadView.as_view(), name="api-pack-stickers"),
    re_path(
        r"^sticker-packs/(?P<pack_key>[-a-zA-Z0-9_]+)/stickers/(?P<sticker_id>[0-9]+)(?:\.webp)?$",
        views.StickerView.as_view(),
        name="api-sticker",
    ),
    re_path(
        r"^sticker-packs/(?P<pack_key>[-a-zA-Z0-9_]+)/(?P<interaction>open|like|dislike|download)$",
        views.EngagementView.as_view(),
        name="api-pack-engagement",
    ),
]
