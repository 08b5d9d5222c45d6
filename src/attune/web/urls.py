from django.contrib import admin
from django.urls import include, path

from attune.web.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("p/", include("attune.web.epro.urls")),
]
