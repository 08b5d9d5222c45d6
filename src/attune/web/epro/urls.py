from django.urls import path

from attune.web.epro import views

app_name = "epro"
urlpatterns = [
    path("<str:token>/", views.home, name="home"),
    path("<str:token>/forms/<str:visit>/<str:instrument>/", views.form, name="form"),
]
