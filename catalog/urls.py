from django.urls import path

from catalog import web

urlpatterns = [
    path("", web.browse, name="home"),
    path("stickers/", web.browse, name="browse"),
    path("stickers/<slug:pack_key>", web.pack_page, name="pack-page"),
]
