"""``attune study``: set up a study on a server — create it from a protocol file, give people roles.

These are the commands of whoever runs the installation (they act as the system, and every change
is in the audit trail); day-to-day work happens in the web app.
"""

from __future__ import annotations

import sys

import click

ROLES = (
    "coordinator",
    "therapist",
    "rater",
    "data_manager",
    "statistician",
    "monitor",
    "administrator",
)


@click.group()
def study() -> None:
    """Create studies and manage who works in them."""


def _refuse(error: Exception) -> None:
    click.secho(str(error), fg="red", err=True)
    sys.exit(1)


@study.command()
@click.argument("code")
@click.option(
    "--protocol", "protocol_name", required=True, help="A shipped protocol id or a protocol file."
)
@click.option("--name", required=True, help="The study's name.")
@click.option(
    "--site",
    "sites",
    multiple=True,
    required=True,
    metavar="CODE=NAME",
    help="A site (repeatable), e.g. --site s1='Boston clinic'.",
)
def create(code: str, protocol_name: str, name: str, sites: tuple[str, ...]) -> None:
    """Create study CODE from a protocol (the file is kept with the study as it is now)."""
    from attune.cli.web import setup_django

    setup_django()
    from django.core.management import call_command

    from attune.protocol import SourceError
    from attune.web.errors import InvalidInput
    from attune.web.studies.services import create_study

    parsed = []
    for item in sites:
        site_code, _, site_name = item.partition("=")
        if not site_code.strip() or not site_name.strip():
            raise click.BadParameter(f"{item!r} is not CODE=NAME", param_hint="--site")
        parsed.append((site_code.strip(), site_name.strip()))
    call_command("migrate", interactive=False, verbosity=0)
    try:
        made = create_study(protocol=protocol_name, code=code, name=name, sites=parsed)
    except (InvalidInput, SourceError) as error:
        _refuse(error)
        return
    click.echo(
        f"created study {made.code} on protocol {made.protocol_id} {made.protocol_version} "
        f"with sites {', '.join(s for s, _ in parsed)}"
    )


@study.command(name="add-member")
@click.argument("code")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--site", "site_code", default=None, help="One site only (default: every site).")
def add_member_command(code: str, username: str, role: str, site_code: str | None) -> None:
    """Give USERNAME a role in study CODE (the account is created first if it does not exist,
    with a password asked for twice)."""
    from attune.cli.web import setup_django

    setup_django()
    from django.contrib.auth.models import User
    from django.db import transaction

    from attune.web.errors import InvalidInput
    from attune.web.studies.models import Study
    from attune.web.studies.roles import Role
    from attune.web.studies.services import add_member, create_account

    found = Study.objects.filter(code=code).first()
    if found is None:
        raise click.ClickException(f"no study {code!r}")
    site = None
    if site_code is not None:
        site = found.sites.filter(code=site_code).first()
        if site is None:
            known = ", ".join(found.sites.values_list("code", flat=True))
            raise click.ClickException(f"{code} has no site {site_code!r} (sites: {known})")
    user = User.objects.filter(username=username).first()
    password, created = None, False
    if user is None:
        password = click.prompt(
            f"Password for the new account {username}", hide_input=True, confirmation_prompt=True
        )
    try:
        # The account and its first role together: a refused role leaves no account behind.
        with transaction.atomic():
            if user is None:
                assert password is not None
                user = create_account(username, password)
                created = True
            add_member(None, user, found, Role(role), site)
    except InvalidInput as error:
        _refuse(error)
        return
    if created:
        click.echo(f"created account {username}")
    where = f"at site {site.code}" if site else "at every site"
    click.echo(f"{username} is {role} in {code} {where}")


@study.command(name="members")
@click.argument("code")
def members(code: str) -> None:
    """List who works in study CODE, in which role and where."""
    from attune.cli.web import setup_django

    setup_django()
    from attune.web.studies.models import Membership, Study

    found = Study.objects.filter(code=code).first()
    if found is None:
        raise click.ClickException(f"no study {code!r}")
    rows = Membership.objects.filter(study=found).select_related("user", "site")
    for membership in rows.order_by("user__username", "role"):
        where = membership.site.code if membership.site else "all sites"
        click.echo(f"{membership.user.get_username():<20} {membership.role:<14} {where}")
