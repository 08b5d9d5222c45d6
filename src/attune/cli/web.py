"""``attune serve``, ``attune manage`` and ``attune audit verify``: the web platform from the command line."""

from __future__ import annotations

import os
import sys

import click


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attune.web.settings")
    import django

    django.setup()


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def manage(args: tuple[str, ...]) -> None:
    """Run a Django management command (e.g. attune manage migrate, attune manage createsuperuser)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attune.web.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["attune manage", *args])


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Apply database migrations, then serve the web platform."""
    setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    click.echo(f"Attune is serving on http://{host}:{port}/ (Ctrl+C stops it)")
    call_command("runserver", f"{host}:{port}", use_reloader=False)


@click.group()
def audit() -> None:
    """The audit trail."""


@audit.command()
def verify() -> None:
    """Recompute the audit trail's hash chain; exit status 1 if any event was altered or forged."""
    setup_django()
    from attune.web.audit.chain import verify_chain

    report = verify_chain()
    if report.ok:
        click.echo(f"audit trail intact: {report.events} events, hash chain verified")
        return
    click.secho(
        f"audit trail BROKEN at event #{report.broken_at} ({report.events} events read): {report.problem}",
        fg="red",
        err=True,
    )
    sys.exit(1)
