from django.contrib.auth import views as auth_views
from django.urls import path, re_path

from catalog import web

PACK = "stickers/<slug:pack_key>"

urlpatterns = [
    path("", web.browse, name="home"),
    path("stickers/", web.browse, name="browse"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("my/", web.my_packs, name="my-packs"),
    path("my/new", web.pack_new, name="pack-new"),
    path(PACK, web.pack_page, name="pack-page"),
    path(f"{PACK}/download.zip", web.pack_download, name="pack-download"),
    re_path(
        r"^stickers/(?P<pack_key>[-a-zA-Z0-9_]+)/(?P<interaction>like|dislike|download)$",
        web.pack_engage,
        name="pack-engage",
    ),
    path(f"{PACK}/edit", web.pack_edit, name="pack-edit"),
    path(f"{PACK}/upload", web.pack_upload, name="pack-upload"),
    path(f"{PACK}/publish", web.pack_publish, name="pack-publish"),
    path(f"{PACK}/delete", web.pack_delete, name="pack-delete"),
    path(f"{PACK}/stickers/<int:sticker_id>/move", web.sticker_move, name="sticker-move"),
    path(f"{PACK}/stickers/<int:sticker_id>/remove", web.sticker_remove, name="sticker-remove"),
]
