from django.apps import AppConfig


class ParticipantsConfig(AppConfig):
    name = "attune.web.participants"
    label = "participants"
