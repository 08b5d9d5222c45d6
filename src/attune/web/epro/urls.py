from django.urls import path

from attune.web.epro import views
from attune.web.pages.fidelity import concern_from_link

app_name = "epro"
urlpatterns = [
    path("<str:token>/", views.home, name="home"),
    path("<str:token>/concern/", concern_from_link, name="concern"),
    path("<str:token>/forms/<str:visit>/<str:instrument>/", views.form, name="form"),
]
