from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from catalog.api.exceptions import json_not_found
from config import health
from config.metrics import metrics_view

handler400 = "config.errors.handler400"
handler404 = "config.errors.handler404"
handler500 = "config.errors.handler500"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("api/schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/", include("catalog.api.urls")),
    re_path(r"^api(?:/.*)?$", json_not_found, name="api-not-found"),
    path("admin/", admin.site.urls),
    path("", include("catalog.urls")),
]
