"""Builds the same click CLI for every connector: `import` and `check`."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .config import GATEWAY_SETTINGS, Answers, Resolved, load_config_file, resolve
from .connector import Connector
from .errors import EXIT_CANNOT_RUN, EXIT_CONFIG, SyncError
from .redact import RedactingFilter, redact
from .report import Report
from .runner import run_check, run_import
from .state_cli import state_group
from .stock.cli import serve_group
from .sync import Engine


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({"time": round(record.created, 3), "level": record.levelname.lower(),
                           "logger": record.name, "message": record.getMessage()})


def setup_logging(log_format: str, verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json"
                         else logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("urllib3").setLevel(logging.ERROR)  # retries are counted; the outcome is reported


class Progress:
    """On a terminal one updating line on stderr; elsewhere a log line every 10 seconds."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def __call__(self, report: Report) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last < (0.3 if self.tty else 10.0):
                return
            self._last = now
        c = report.counts
        line = (f"created {c['created']}, updated {c['updated']}, unchanged {c['unchanged']}, "
                f"skipped {c['skipped']}, failed {c['failed']}")
        if self.tty:
            click.echo(f"\r{line}", err=True, nl=False)
        else:
            logging.getLogger("gwsync.progress").info(line)

    def done(self) -> None:
        if self.tty:
            click.echo("", err=True)


def _connector_options(connector_cls: type[Connector]) -> list[click.Option]:
    """A flag per non-secret setting: secrets never travel on a command line."""
    settings = [s for s in (*GATEWAY_SETTINGS, *connector_cls.settings) if not s.secret]
    return [click.Option([s.flag], s.key, default=None, help=f"{s.help} [env {s.env}]") for s in settings]


def _common_options(func: Callable) -> Callable:
    options = [
        click.option("--config", "config_file", type=click.Path(path_type=Path), default=None,
                     help="TOML file with settings (keys as the flags, with underscores)."),
        click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
                     help="Log lines for people or machines."),
        click.option("-v", "--verbose", is_flag=True, help="Debug logging."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _resolve(connector_cls: type[Connector], params: dict[str, Any], dry_run: bool = False) -> Resolved:
    file_values = load_config_file(params.pop("config_file"))
    return resolve(connector_cls.settings, params, file_values, Answers(), dry_run=dry_run)


def _fail(exc: BaseException) -> None:
    """One clean line, never a traceback."""
    if isinstance(exc, SyncError):
        click.echo(f"error: {redact(exc)}", err=True)
        sys.exit(exc.exit_code)
    logging.getLogger(__name__).debug("internal error", exc_info=exc)
    click.echo(f"error: internal error ({type(exc).__name__}: {redact(exc)}); run with -v for details",
               err=True)
    sys.exit(EXIT_CANNOT_RUN)


def build_cli(connector_cls: type[Connector]) -> click.Group:
    name = f"gateway-{connector_cls.platform}"
    secret_envs = ", ".join(s.env for s in (*GATEWAY_SETTINGS, *connector_cls.settings) if s.secret)

    @click.group(name=name, help=f"Sync a vendor's {connector_cls.title} catalog into the Gateway.\n\n"
                 f"Secrets ({secret_envs}) come from the environment, the config file or a prompt; "
                 "they have no flags.")
    @click.version_option(package_name="gateway-sync-common")
    def group() -> None:
        pass

    @group.command("import", help="Import the catalog: create, update, archive what changed.")
    @_common_options
    @click.option("--dry-run", is_flag=True, help="Print the plan; write nothing.")
    @click.option("--full", is_flag=True, help="Read the whole catalog, not only what changed.")
    @click.option("--report", "report_file", type=click.Path(path_type=Path), default=None,
                  help="Write a JSON report to this file.")
    @click.option("--workers", type=click.IntRange(1, 16), default=4, show_default=True,
                  help="Concurrent Gateway writes.")
    def import_cmd(log_format: str, verbose: bool, dry_run: bool, full: bool,
                   report_file: Path | None, workers: int, **params: Any) -> None:
        setup_logging(log_format, verbose)
        progress = Progress()
        try:
            config = _resolve(connector_cls, params, dry_run=dry_run)
            report = run_import(connector_cls, config, dry_run=dry_run, full=full, workers=workers,
                                progress=progress, on_engine=_stop_on_sigterm)
        except (Exception, KeyboardInterrupt) as exc:
            progress.done()
            _fail(exc if not isinstance(exc, KeyboardInterrupt) else SyncError("interrupted"))
            return
        progress.done()
        _print_report(report, report_file, dry_run)
        sys.exit(report.exit_code)

    @group.command("check", help="Verify credentials on both sides and say what each shows.")
    @_common_options
    def check_cmd(log_format: str, verbose: bool, **params: Any) -> None:
        setup_logging(log_format, verbose)
        try:
            for line in run_check(connector_cls, _resolve(connector_cls, params)):
                click.echo(line)
        except Exception as exc:
            _fail(exc)

    for command in (import_cmd, check_cmd):
        command.params.extend(_connector_options(connector_cls))
    resolve_params = lambda params: _resolve(connector_cls, params)  # noqa: E731
    all_options = lambda: [_config_option(), *_connector_options(connector_cls)]  # noqa: E731
    group.add_command(state_group(connector_cls, resolve_params, all_options, _fail))
    group.add_command(serve_group(connector_cls, resolve_params, all_options, _fail))
    return group


def _config_option() -> click.Option:
    return click.Option(["--config", "config_file"], type=click.Path(path_type=Path), default=None,
                        help="TOML file with settings (keys as the flags, with underscores).")


def _stop_on_sigterm(engine: Engine) -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: engine.stop())


def _print_report(report: Report, report_file: Path | None, dry_run: bool) -> None:
    if dry_run:
        for line in report.plan:
            click.echo(line)
    for problem in report.failures:
        click.echo(f"failed  {problem.identity}  {problem.name}: {redact(problem.reason)}", err=True)
    for problem in report.skips:
        click.echo(f"skipped {problem.identity}  {problem.name}: {redact(problem.reason)}", err=True)
    for problem in report.image_problems:
        click.echo(f"image   {problem.identity}  {problem.name}: {redact(problem.reason)}", err=True)
    if report.uncategorised:
        click.echo(f"note: {sum(report.uncategorised.values())} products in "
                   f"{len(report.uncategorised)} source categories have no Gateway category "
                   "(see GATEWAY_CATEGORY_MAP)", err=True)
    for note in report.notes:
        click.echo(f"note: {redact(note)}", err=True)
    if report.read_error:
        click.echo(f"error: {redact(report.read_error)}; nothing was archived", err=True)
    if report_file is not None:
        try:
            report_file.write_text(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
        except OSError as exc:
            click.echo(f"error: --report: cannot write {report_file}: {exc.strerror}", err=True)
            sys.exit(EXIT_CONFIG)
    click.echo(report.summary_line())
