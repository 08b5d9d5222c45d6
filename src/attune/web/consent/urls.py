from django.urls import path

from attune.web.consent import views

app_name = "consent"
urlpatterns = [
    path("<str:token>/", views.consent, name="consent"),
    path("<str:token>/copy.pdf", views.copy, name="copy"),
    path("<str:token>/document.pdf", views.document_pdf, name="document"),
]
