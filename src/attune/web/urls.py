from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from attune.web.api import api
from attune.web.pages import auth

urlpatterns = [
    path("login/", auth.login_view, name="login"),
    path("account/two-factor/", auth.two_factor, name="two_factor"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("p/", include("attune.web.epro.urls")),
    path("consent/", include("attune.web.consent.urls")),  # a participant's private consent link
    path("", include("attune.web.pages.urls")),
]

# Every refusal (NotAllowed, or Django's PermissionDenied) on a page is rendered by one view; the
# API renders its own as JSON.
handler403 = "attune.web.pages.views.refused"
