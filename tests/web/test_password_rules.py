"""Weak passwords are refused on every path that sets one; a passphrase and the demo's pass.

The red team set ``aaaaaaaaaaaa`` and ``Password123!``: both were accepted by Django's validators
alone (12 characters, not on the exact common-password list, not all digits).
"""

import pytest
from click.testing import CliRunner
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client

from attune.cli.main import cli
from attune.web.demo import PASSWORD as DEMO_PASSWORD
from attune.web.studies.roles import Role

pytestmark = pytest.mark.django_db

WEAK = [
    "aaaaaaaaaaaa",  # one character repeated
    "Password123!",  # a common word with digits and a symbol appended
    "abcabcabcabc",  # a repeated pattern
    "qwertyuiop12",  # a keyboard walk
    "Password2026!",
    "coordinator2026",  # the user name with a year
]
STRONG = ["correct horse battery staple", "a long passphrase here", DEMO_PASSWORD]


@pytest.mark.parametrize("password", WEAK)
def test_weak_passwords_are_refused_with_a_reason(password):
    with pytest.raises(ValidationError) as caught:
        validate_password(password, User(username="coordinator"))
    assert any("too easy to guess" in m for m in caught.value.messages)


@pytest.mark.parametrize("password", STRONG)
def test_a_passphrase_and_the_demo_password_pass(password):
    validate_password(password, User(username="coordinator"))


def test_short_passwords_are_still_refused_by_length():
    with pytest.raises(ValidationError, match="at least 12 characters"):
        validate_password("Zq8#vL2!", User(username="someone"))


@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "Password123!"])
def test_the_members_page_refuses_them(study, users, password):
    client = Client()
    client.force_login(users[Role.ADMINISTRATOR])
    response = client.post(
        f"/s/{study.code}/members/",
        {"action": "add", "username": "sam", "role": "coordinator", "password": password},
    )
    assert "too easy to guess" in response.content.decode()
    assert not get_user_model().objects.filter(username="sam").exists()


@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "Password123!"])
def test_the_command_line_refuses_them(study, password):
    result = CliRunner().invoke(
        cli,
        ["study", "add-member", study.code, "sam", "--role", "coordinator"],
        input=f"{password}\n{password}\n",
    )
    assert result.exit_code != 0
    assert "too easy to guess" in result.output
    assert not get_user_model().objects.filter(username="sam").exists()


def test_createsuperuser_without_prompts_checks_the_password_from_the_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "Password123!")
    with pytest.raises(CommandError, match="too easy to guess"):
        call_command("createsuperuser", "--noinput", "--username", "root", "--email", "r@x.org")
    assert not get_user_model().objects.filter(username="root").exists()
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "correct horse battery staple")
    call_command("createsuperuser", "--noinput", "--username", "root", "--email", "r@x.org")
    assert get_user_model().objects.get(username="root").is_superuser


def test_changepassword_applies_the_rules(monkeypatch, users):
    monkeypatch.setattr(
        "django.contrib.auth.management.commands.changepassword.getpass.getpass",
        lambda prompt="": "Password123!",
    )
    with pytest.raises(CommandError, match="after 3 attempts"):
        call_command("changepassword", "coordinator")
    assert (
        get_user_model()
        .objects.get(username="coordinator")
        .check_password("correct horse battery staple")
    )
