"""``attune demo``: the README's main job.

Creates the demo study in its own SQLite database (``.attune/demo`` unless ``ATTUNE_DATA_DIR`` says
otherwise), with one account per role and participants at every stage of the protocol, prints the
logins, and serves the platform on localhost with a background worker (exports and reports are
built by it: see ``attune worker``).
"""

from __future__ import annotations

import os
from pathlib import Path

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--reset", is_flag=True, help="Delete the demo database first and start again.")
@click.option(
    "--no-serve", is_flag=True, help="Create the demo study and stop (for scripts and tests)."
)
def demo(host: str, port: int, reset: bool, no_serve: bool) -> None:
    """Create the demo study, print one login per role, and serve it."""
    data_dir = Path(
        os.environ.setdefault("ATTUNE_DATA_DIR", str(Path(".attune") / "demo"))
    ).resolve()
    if reset and (data_dir / "attune.sqlite3").exists():
        (data_dir / "attune.sqlite3").unlink()
    from attune.cli.web import setup_django

    setup_django()
    from django.core.management import call_command

    from attune.web.demo import PASSWORD, STUDY_CODE, seed_demo
    from attune.web.studies.models import Study

    call_command("migrate", interactive=False, verbosity=0)
    if Study.objects.filter(code=STUDY_CODE).exists():
        click.echo(f"Using the existing demo study in {data_dir} (--reset starts again).")
        link = None
    else:
        click.echo(
            "Creating the demo study (MAPP protocol, two sites, participants at every stage) ..."
        )
        made = seed_demo()
        link = made.link
    click.secho("\nDemo logins (every password: " + PASSWORD + ")", bold=True)
    for role, note in (
        ("coordinator", "site S01: screening, enrolment, visits, links, alerts"),
        ("therapist", "site S01: therapy notes, C-SSRS, alerts"),
        ("rater", "site S01: blinded CAPS-5 only"),
        ("data_manager", "all sites: forms, corrections, audit trail"),
        ("statistician", "all sites: unblinded (sees the arm), exports, audit trail"),
        ("monitor", "all sites: read-only"),
        ("administrator", "memberships, audit trail"),
        (
            "principal_investigator",
            "site S01: the site's clinical work; overrides the protocol's order",
        ),
        (
            "adherence_rater",
            "all sites: rates sampled session recordings (blind to arm and outcome)",
        ),
        ("ethics_contact", "all sites: reads participants' confidential concern reports"),
    ):
        click.echo(f"  {role:<22} {note}")
    click.echo("  (coordinator2, therapist2, rater2, principal_investigator2 work at site S02)")
    if link:
        click.echo(f"\nA participant's private questionnaire link: http://{host}:{port}{link}")
    if no_serve:
        return
    from attune.cli.web import background_worker

    click.echo(f"\nServing on http://{host}:{port}/ (Ctrl+C stops it)")
    # The development server serves the static files (htmx, the session page's script) itself.
    with background_worker():  # builds the exports and reports people ask for
        call_command("runserver", f"{host}:{port}", use_reloader=False, insecure_serving=True)
