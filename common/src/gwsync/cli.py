"""Builds the same click CLI for every connector: `import`, `check`, `categories`, `state`, `serve`.

Settings resolve flag > environment variable > config file > prompt (see
`gwsync.config`); each flag's help shows its type, real default and variable.
Exit codes: 0 done, 1 items failed (skipped ones too with `--fail-on skipped`),
2 usage or configuration, 3 could not run, 4 another run holds the lock, 130 Ctrl+C.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import click

from .checks import check_both
from .config import GATEWAY_SETTINGS, Answers, Resolved, default_state_dir, load_config_file, resolve
from .connector import Connector, Setting
from .errors import EXIT_CANNOT_RUN, EXIT_CONFIG, EXIT_OK, ConfigError, SyncError
from .logs import FORMATS, Output, setup_logging
from .progress import RunProgress
from .redact import redact
from .report import Event, Report, RunInfo, events, report_document, write_document
from .runner import run_import, run_migrate_source
from .state_cli import state_group
from .stock.cli import serve_group
from .sync import Engine, Options

EXIT_INTERRUPTED = 130  # the shell's convention for a run stopped by Ctrl+C (128 + SIGINT)
FAIL_ON = ("failed", "skipped")


class SettingType(click.ParamType):
    """Shows a setting's type in `--help`; the value itself is checked by `gwsync.config` in one line."""

    def __init__(self, setting: Setting) -> None:
        self.setting = setting
        self.name = {"int": "integer", "bool": "yes|no"}.get(setting.kind, setting.kind)

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        if self.setting.choices:
            return "[" + "|".join(self.setting.choices) + "]"
        return self.name.upper()

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return value


class SettingOption(click.Option):
    """`--flag`, read from its environment variable by click; the default shown is the real one."""

    def __init__(self, setting: Setting) -> None:
        super().__init__([setting.flag, setting.key], type=SettingType(setting), envvar=setting.env,
                         show_envvar=True, default=None, help=setting.help)
        self.setting = setting

    def get_help_extra(self, ctx: click.Context) -> Any:
        extra = super().get_help_extra(ctx)
        if self.setting.default is not None:
            extra["default"] = self.setting.default
        elif self.setting.key == "state_dir":
            extra["default"] = str(default_state_dir())
        elif self.setting.required:
            extra["required"] = "required"
        return extra


def _connector_options(connector_cls: type[Connector]) -> list[click.Option]:
    """A flag per non-secret setting: secrets never travel on a command line."""
    settings = [s for s in (*GATEWAY_SETTINGS, *connector_cls.settings) if not s.secret]
    return [SettingOption(s) for s in settings]


def _secrets_epilog(connector_cls: type[Connector]) -> str:
    secrets = [s for s in (*GATEWAY_SETTINGS, *connector_cls.settings) if s.secret]
    names = "; ".join(f"{s.env}: {s.help}" for s in secrets)
    return (f"Secrets have no flags (they would show in process lists): {names}. Set them in the "
            "environment or the config file, or answer the prompt. Precedence: flag > environment "
            "> config file > prompt.")


def _common_options(func: Callable) -> Callable:
    options = [
        click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
                     help="TOML file with settings (keys as the flags, with underscores); an unknown key "
                     "is an error."),
        click.option("--log-format", type=click.Choice(FORMATS, case_sensitive=False), default="text",
                     show_default=True,
                     envvar="GATEWAY_LOG_FORMAT", show_envvar=True,
                     help="Log lines for people, or one JSON object per line for machines."),
        click.option("-v", "--verbose", is_flag=True, help="Debug logging, retries included."),
        click.option("-q", "--quiet", is_flag=True,
                     help="For cron: nothing on success; the summary and errors on failure."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _resolve(connector_cls: type[Connector], params: dict[str, Any], dry_run: bool = False) -> Resolved:
    file_values = load_config_file(params.pop("config_file"))
    return resolve(connector_cls.settings, params, file_values, Answers(), dry_run=dry_run)


def _error_of(exc: BaseException) -> tuple[int, str]:
    """The exit code and the one line that says why, never a traceback."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted (Ctrl+C); what was written is kept, nothing was archived"
    if isinstance(exc, SyncError):
        return exc.exit_code, redact(exc)
    logging.getLogger(__name__).debug("internal error", exc_info=exc)
    return EXIT_CANNOT_RUN, f"internal error ({type(exc).__name__}: {redact(exc)}); run with -v for details"


def _fail(exc: BaseException, output: Output | None = None) -> None:
    code, message = _error_of(exc)
    (output or Output("text")).error(message)
    sys.exit(code)


@functools.cache
def tool_version(connector_cls: type[Connector]) -> tuple[str, str]:
    """The connector's own distribution and version (the shared library's when it has none)."""
    top = connector_cls.__module__.split(".")[0]
    for dist in metadata.packages_distributions().get(top, []):
        return dist, metadata.version(dist)
    return "gateway-sync-common", metadata.version("gateway-sync-common")


def check_report_path(path: Path | None) -> None:
    """An unwritable `--report` is found before anything runs, not after a long import."""
    if path is None:
        return
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ConfigError(f"--report: {path} is a directory")
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"--report: cannot write {path} (permission denied)")
    if not path.exists() and not (folder.is_dir() and os.access(folder, os.W_OK)):
        raise ConfigError(f"--report: cannot create {path} (no writable folder {folder})")


def write_report(path: Path | None, document: dict[str, Any], output: Output) -> None:
    if path is None:
        return
    try:
        with path.open("w", encoding="utf-8") as out:  # streamed: a 10,000-item plan is never one string
            write_document(document, out)
    except OSError as exc:
        output.error(f"--report: cannot write {path}: {exc.strerror}")
        sys.exit(EXIT_CONFIG)


def _import(connector_cls: type[Connector], run: RunInfo, output: Output, params: dict[str, Any],
            progress: RunProgress | None, *, fail_on: tuple[str, ...], dry_run: bool,
            **options: Any) -> tuple[Report | None, int, str | None]:
    """One import: the engine's report (when it got that far), the exit code, the error line."""
    engines: list[Engine] = []

    def on_engine(engine: Engine) -> None:
        engines.append(engine)
        run.source_shop, run.gateway_shop = engine.shop, engine.gateway.shop
        _stop_on_sigterm(engine)
        if progress is not None:
            progress.attach(engine)

    try:
        config = _resolve(connector_cls, params, dry_run=dry_run)
        run.gateway_shop, run.gateway = config["shop_guid"], config["gateway_url"]
        if config.sandbox_fallback:
            output.first("dry run against the embedded sandbox: GATEWAY_URL is not set, so nothing "
                         "is compared with a real Gateway")
        report = run_import(connector_cls, config, progress=progress, on_engine=on_engine,
                            options=Options(dry_run=dry_run, **options))
        return report, report.exit_code_for(fail_on), None
    except (Exception, KeyboardInterrupt) as exc:
        code, error = _error_of(exc)
        return (engines[0].report if engines else None), code, error


def build_cli(connector_cls: type[Connector]) -> click.Group:
    name = f"gateway-{connector_cls.platform}"
    dist, version = tool_version(connector_cls)
    summary = connector_cls.summary or f"Import a {connector_cls.title} shop's catalog into the Gateway."
    epilog = _secrets_epilog(connector_cls)

    @click.group(name=name, help=f"{summary}\n\n{epilog}")
    @click.version_option(version, "--version",
                          message=f"%(prog)s %(version)s ({dist}; gateway-sync-common "
                                  f"{metadata.version('gateway-sync-common')})")
    def group() -> None:
        pass

    @group.command("import", epilog=epilog,
                   help="Import the catalog: create, update and archive what changed, nothing else.")
    @_common_options
    @click.option("--dry-run", is_flag=True, help="Print the plan; write nothing.")
    @click.option("--full", is_flag=True, help="Read the whole catalog, not only what changed.")
    @click.option("--report", "report_file", type=click.Path(path_type=Path), default=None,
                  help="Write a JSON report to this file (also when the run fails).")
    @click.option("--workers", type=click.IntRange(1, 16), default=4, show_default=True,
                  help="Products handled at once (their Gateway calls share GATEWAY_CONCURRENCY).")
    @click.option("--fail-on", type=click.Choice(FAIL_ON), multiple=True, default=("failed",),
                  show_default=True, help="What makes exit code 1: failed writes always; "
                  "`--fail-on skipped` also items skipped for their data.")
    @click.option("--allow-mass-archive", is_flag=True,
                  help="Archive even when the read would archive more than 10 % of the live products.")
    @click.option("--no-archive", is_flag=True, help="Archive nothing in this run.")
    @click.option("--allow-second-source", is_flag=True,
                  help="Import although the Gateway shop holds this platform's products from another "
                  "source shop (two shops of one vendor on purpose; a moved shop wants migrate-source).")
    def import_cmd(log_format: str, verbose: bool, quiet: bool, dry_run: bool, full: bool,
                   report_file: Path | None, workers: int, fail_on: tuple[str, ...],
                   allow_mass_archive: bool, no_archive: bool, allow_second_source: bool,
                   **params: Any) -> None:
        _run(dry_run=dry_run, full=full, workers=workers, fail_on=fail_on, archive_missing=not no_archive,
             allow_mass_archive=allow_mass_archive, allow_second_source=allow_second_source,
             log_format=log_format, verbose=verbose, quiet=quiet, report_file=report_file, params=params)

    @group.command("stock", epilog=epilog,
                   help="The fast pass for cron: read only stock and prices (the platform's cheapest change "
                   "filter) and write only the Gateway products whose stock or price changed. Creates and "
                   "archives nothing (that is `import`); leaves alone an item whose Gateway sale `serve` "
                   "has not applied to the shop yet.")
    @_common_options
    @click.option("--dry-run", is_flag=True, help="Print the plan; write nothing.")
    @click.option("--full", is_flag=True, help="Read every item's stock, not only what changed.")
    @click.option("--report", "report_file", type=click.Path(path_type=Path), default=None,
                  help="Write a JSON report to this file (also when the run fails).")
    @click.option("--workers", type=click.IntRange(1, 16), default=4, show_default=True,
                  help="Products handled at once (their Gateway calls share GATEWAY_CONCURRENCY).")
    def stock_cmd(log_format: str, verbose: bool, quiet: bool, dry_run: bool, full: bool,
                  report_file: Path | None, workers: int, **params: Any) -> None:
        _run(dry_run=dry_run, full=full, workers=workers, fail_on=("failed",), stock_only=True,
             archive_missing=False, log_format=log_format, verbose=verbose, quiet=quiet,
             report_file=report_file, params=params)

    def _run(*, log_format: str, verbose: bool, quiet: bool, report_file: Path | None, params: dict[str, Any],
             fail_on: tuple[str, ...], **options: Any) -> None:
        run = RunInfo(tool=name, version=version, platform=connector_cls.platform)
        setup_logging(log_format, verbose, quiet, run)
        output = Output(log_format, quiet)
        try:
            check_report_path(report_file)
        except ConfigError as exc:
            _fail(exc, output)
        progress = None if quiet or log_format == "json" else RunProgress()
        try:
            report, code, error = _import(connector_cls, run, output, params, progress, fail_on=fail_on,
                                          **options)
        finally:
            if progress is not None:
                progress.done()
        run.finished = time.time()
        if report is not None:
            output.finish(events(report), failed=code != EXIT_OK, fail_on=fail_on)
        if error is not None:
            output.error(error)
        write_report(report_file, report_document(run, report, code, error), output)
        sys.exit(code)

    @group.command("check", epilog=epilog,
                   help="Check the platform side and the Gateway side, each on its own, and say "
                   "what each shows.")
    @_common_options
    def check_cmd(log_format: str, verbose: bool, quiet: bool, **params: Any) -> None:
        setup_logging(log_format, verbose, quiet)
        output = Output(log_format, quiet)
        try:
            results = check_both(connector_cls, _resolve(connector_cls, params))
        except (Exception, KeyboardInterrupt) as exc:
            _fail(exc, output)
        for result in results:
            if not result.ok:
                output.error(result.line, side=result.side)
            elif not quiet:
                output.say(Event("check", "info", result.line, {"side": result.side}))
        sys.exit(max(r.exit_code for r in results))

    @group.command("categories", epilog=epilog,
                   help="Print the source category paths of the last import that have no Gateway "
                   "category, as a CSV to fill in (source path;Gateway path, with the closest Gateway "
                   "path as a suggestion). Save it and point GATEWAY_CATEGORY_MAP at it.")
    @_common_options
    def categories_cmd(log_format: str, verbose: bool, quiet: bool, **params: Any) -> None:
        from .category_help import unmapped_csv

        setup_logging(log_format, verbose, quiet)
        output = Output(log_format, quiet)
        try:
            text, note = unmapped_csv(connector_cls, _resolve(connector_cls, params, dry_run=True))
        except (Exception, KeyboardInterrupt) as exc:
            _fail(exc, output)
        click.echo(text, nl=False)
        if note:
            click.echo(note, err=True)

    @group.command("migrate-source", epilog=epilog,
                   help="Move the Gateway products of an old source shop id (the shop's address changed) "
                   "to the current one, so the next import adopts them.")
    @_common_options
    @click.option("--from", "old_shop", required=True, metavar="OLD",
                  help="The old source shop id, as the refusing import named it.")
    def migrate_cmd(log_format: str, verbose: bool, quiet: bool, old_shop: str, **params: Any) -> None:
        setup_logging(log_format, verbose, quiet)
        output = Output(log_format, quiet)
        try:
            moved = run_migrate_source(connector_cls, _resolve(connector_cls, params), old_shop)
        except (Exception, KeyboardInterrupt) as exc:
            _fail(exc, output)
        if not quiet:
            click.echo(f"moved {moved} products from source shop {old_shop}; run import next")

    for command in (import_cmd, stock_cmd, check_cmd, categories_cmd, migrate_cmd):
        command.params.extend(_connector_options(connector_cls))
    resolve_params = lambda params: _resolve(connector_cls, params)  # noqa: E731
    all_options = lambda: [_config_option(), *_connector_options(connector_cls)]  # noqa: E731
    group.add_command(state_group(connector_cls, resolve_params, all_options, _fail))
    group.add_command(serve_group(connector_cls, resolve_params, all_options, _fail))
    return group


def _config_option() -> click.Option:
    return click.Option(["--config", "config_file"], type=click.Path(path_type=Path, dir_okay=False),
                        default=None, help="TOML file with settings (keys as the flags, with underscores); "
                        "an unknown key is an error.")


def _stop_on_sigterm(engine: Engine) -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: engine.stop())
