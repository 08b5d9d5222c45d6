"""``attune study create / add-member / members``: setting up a study from the command line."""

import pytest
from click.testing import CliRunner
from django.contrib.auth import get_user_model

from attune.cli.main import cli
from attune.web.audit.models import AuditEvent
from attune.web.studies.access import roles_of
from attune.web.studies.models import Study
from attune.web.studies.roles import Role

pytestmark = pytest.mark.django_db


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, ["study", *args], input=input)


def test_create_a_study_and_give_people_roles():
    made = run(
        "create",
        "trial-1",
        "--protocol",
        "psilocybin_single",
        "--name",
        "Psilocybin trial",
        "--site",
        "s1=Boston clinic",
        "--site",
        "s2=Tel Aviv clinic",
    )
    assert made.exit_code == 0, made.output
    study = Study.objects.get(code="trial-1")
    assert study.protocol_id == "psilocybin_single"
    assert sorted(study.sites.values_list("code", flat=True)) == ["s1", "s2"]

    password = "a long passphrase for the rater\n"
    added = run(
        "add-member", "trial-1", "rita", "--role", "rater", "--site", "s1", input=password * 2
    )
    assert added.exit_code == 0, added.output
    rita = get_user_model().objects.get(username="rita")
    assert rita.check_password(password.strip())
    assert roles_of(rita, study, study.sites.get(code="s1")) == {Role.RATER}
    assert roles_of(rita, study, study.sites.get(code="s2")) == set()
    assert AuditEvent.objects.filter(study="trial-1", action="permission_change").exists()

    listed = run("members", "trial-1")
    assert "rita" in listed.output and "rater" in listed.output and "s1" in listed.output


def test_clear_errors_and_nothing_created():
    unknown = run("create", "x", "--protocol", "nope", "--name", "X", "--site", "s1=One")
    assert unknown.exit_code != 0
    assert "nope" in unknown.output
    assert not Study.objects.filter(code="x").exists()
    bad_site = run("create", "y", "--protocol", "mapp", "--name", "Y", "--site", "s1")
    assert bad_site.exit_code != 0 and "CODE=NAME" in bad_site.output
    run("create", "z", "--protocol", "mapp", "--name", "Z", "--site", "s1=One")
    elsewhere = run("add-member", "z", "sam", "--role", "coordinator", "--site", "s9")
    assert elsewhere.exit_code != 0 and "no site 's9'" in elsewhere.output
    weak = run("add-member", "z", "sam", "--role", "coordinator", input="123\n123\n")
    assert weak.exit_code != 0
    assert not get_user_model().objects.filter(username="sam").exists()
