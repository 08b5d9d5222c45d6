from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from attune.web.api import api

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="pages/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("p/", include("attune.web.epro.urls")),
    path("", include("attune.web.pages.urls")),
]
