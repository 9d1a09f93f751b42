"""Settings resolution: flag > environment variable > config file (TOML) > prompt.

Prompts happen only for values still missing and only when stdin can answer. Under
`docker run -i` stdin is a pipe, so answers are read line by line, in this order:
signing key, shop GUID, the connector's credentials as it declares them (an optional
one with `ask_if` only after a yes to the question it follows), then any other missing
value. Secrets have no flags (they would show in process lists).
"""

from __future__ import annotations

import difflib
import io
import os
import stat
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import click
import platformdirs

from .connector import Setting
from .errors import ConfigError
from .redact import register_secret

SANDBOX = "sandbox"
TRUE_WORDS = frozenset({"yes", "true", "1", "on", "y"})
FALSE_WORDS = frozenset({"no", "false", "0", "off", "n"})

GATEWAY_URL = Setting("gateway_url", "GATEWAY_URL",
                      "Gateway base URL, or 'sandbox' for the embedded local sandbox", kind="url")
SIGNING_KEY = Setting("signing_key", "GATEWAY_SIGNING_KEY", "Gateway token signing key (base64)",
                      secret=True)
SHOP_GUID = Setting("shop_guid", "GATEWAY_SHOP_GUID", "Gateway shop GUID")
STATE_DIR = Setting("state_dir", "GATEWAY_SYNC_STATE_DIR",
                    "Where the sync state lives",
                    required=False, kind="path")
STATE_URL = Setting("state_url", "GATEWAY_SYNC_STATE_URL",
                    "State store: sqlite:///dir (default: the state directory) or postgresql://... for fleets",
                    secret=True, required=False)
CATEGORY_MAP = Setting("category_map", "GATEWAY_CATEGORY_MAP",
                       "CSV mapping source category paths to Gateway category paths",
                       required=False, kind="path", must_exist=True)
RATE_LIMIT = Setting("rate_limit", "GATEWAY_RATE_LIMIT",
                     "Optional hard ceiling on Gateway requests per second (default: none, the rate "
                     "adapts to the Gateway's 429/503 answers)", required=False, kind="int", minimum=1)
CONCURRENCY = Setting("concurrency", "GATEWAY_CONCURRENCY", "Gateway requests in flight at most",
                      required=False, default="8", kind="int", minimum=1)
GATEWAY_SETTINGS = (GATEWAY_URL, SIGNING_KEY, SHOP_GUID, STATE_DIR, STATE_URL, CATEGORY_MAP, RATE_LIMIT,
                    CONCURRENCY)


def default_state_dir() -> Path:
    return Path(platformdirs.user_data_dir("gateway-sync", appauthor=False))


def load_config_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"--config: cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--config: {path} is not valid TOML: {exc}") from None
    return {str(k): v for k, v in data.items()}


class Answers:
    """Reads missing values from a terminal (hidden for secrets) or line by line from a pipe."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdin
        self.tty = bool(self.stream) and self.stream.isatty()
        self.exhausted = not _can_answer(self.stream)

    def ask(self, setting: Setting) -> str | None:
        if self.exhausted:
            return None
        label = f"{setting.help} ({setting.env})"
        if self.tty:
            value = click.prompt(label, hide_input=setting.secret, default="", show_default=False,
                                 err=True)
            return value.strip() or None
        click.echo(f"{label}: ", err=True, nl=False)
        line = self.stream.readline()
        click.echo("", err=True)
        if not line:  # end of input: nothing more will come
            self.exhausted = True
        return line.strip() or None


def _can_answer(stream: TextIO | None) -> bool:
    """A terminal, a pipe or a file can answer; a closed stdin or /dev/null (cron) cannot."""
    if stream is None or stream.closed:
        return False
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (OSError, ValueError, io.UnsupportedOperation):
        return True  # not a real file (a test runner's stream): it may hold answers
    return stream.isatty() or not stat.S_ISCHR(mode)


@dataclass
class Resolved:
    values: dict[str, Any]
    sandbox_fallback: bool = False  # a dry run with no Gateway set: planned against the embedded sandbox

    def __getitem__(self, key: str) -> Any:
        return self.values.get(key)


def prompt_order(connector_settings: Sequence[Setting], sandbox: bool) -> list[Setting]:
    credentials = [s for s in connector_settings if s.credential]
    others = [s for s in connector_settings if not s.credential]
    gateway = [] if sandbox else [SIGNING_KEY, SHOP_GUID]
    tail = [] if sandbox else [GATEWAY_URL]
    return gateway + credentials + tail + others


def resolve(connector_settings: Sequence[Setting], flags: Mapping[str, Any], file_values: Mapping[str, Any],
            answers: Answers, *, dry_run: bool = False, environ: Mapping[str, str] | None = None) -> Resolved:
    environ = os.environ if environ is None else environ
    every = (*GATEWAY_SETTINGS, *connector_settings)
    check_file_keys(file_values, every)
    values: dict[str, Any] = {}
    for setting in every:
        value = _given(setting, flags, file_values, environ)
        if value is not None:
            values[setting.key] = value
    fallback = "gateway_url" not in values and dry_run
    if fallback:
        values["gateway_url"] = SANDBOX
    sandbox = values.get("gateway_url") == SANDBOX
    for setting in prompt_order(connector_settings, sandbox):
        if _to_ask(setting, values, connector_settings):
            answer = answers.ask(setting)
            if answer is not None:
                values[setting.key] = answer
    for setting in every:  # a value given wrong is worth hearing about before one not given
        _finish(setting, values)
    missing = [s.env for s in prompt_order(connector_settings, sandbox) if _missing(s, values, sandbox)]
    if missing:
        raise ConfigError(f"not set: {', '.join(missing)}; set {'them' if len(missing) > 1 else 'it'} "
                          "in the environment or the config file, or answer the prompts")
    return Resolved(values, sandbox_fallback=fallback)


def check_file_keys(file_values: Mapping[str, Any], settings: Sequence[Setting]) -> None:
    """A mistyped key must not pass silently (it would leave its setting at the default)."""
    valid = [s.key for s in settings]
    for key in file_values:
        if key not in valid:
            close = difflib.get_close_matches(key.replace("-", "_").lower(), valid, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConfigError(f"--config: unknown key '{key}'{hint}; valid keys: {', '.join(valid)}")


NO_WORDS = frozenset({"", "no", "n", "false", "0", "off"})


def is_yes(value: Any) -> bool:
    return value is not None and str(value).strip().lower() not in NO_WORDS


def _to_ask(setting: Setting, values: Mapping[str, Any], settings: Sequence[Setting]) -> bool:
    """Missing required settings; an optional one only through `ask_if` (a follow-up question)."""
    if setting.key in values:
        return False
    if setting.needed(values):
        return True
    if setting.ask_if is None:
        return False
    gated = [s for s in settings if s.ask_if == setting.key]
    if gated and all(s.key in values for s in gated):
        return False  # everything this question would lead to is already given
    return is_yes(values.get(setting.ask_if))


def _missing(setting: Setting, values: Mapping[str, Any], sandbox: bool) -> bool:
    if setting.key in values or not setting.needed(values) or setting.default is not None:
        return False
    return not (sandbox and setting in (SIGNING_KEY, SHOP_GUID))


def _given(setting: Setting, flags: Mapping[str, Any], file_values: Mapping[str, Any],
           environ: Mapping[str, str]) -> Any:
    for value in (flags.get(setting.key), environ.get(setting.env), file_values.get(setting.key)):
        if value is not None and str(value).strip() != "":
            return value
    return None


def _finish(setting: Setting, values: dict[str, Any]) -> None:
    value = values.get(setting.key)
    if value is None:
        if setting.default is not None:
            values[setting.key] = _typed(setting, setting.default)
        return
    if setting.secret:
        register_secret(str(value))
    values[setting.key] = _typed(setting, value)


def _typed(setting: Setting, value: Any) -> Any:
    """The value in its type, or one line naming the setting, what is wrong and what is expected."""
    text = str(value).strip()
    shown = "the value" if setting.secret else repr(text)
    if setting.kind == "url":
        return _url(setting, text)
    if setting.kind == "int":
        return _int(setting, value, shown)
    if setting.kind == "bool":
        return _bool(setting, value, shown)
    if setting.kind == "path":
        path = Path(text).expanduser()
        if setting.must_exist and not path.is_file():
            raise ConfigError(f"{setting.env}: no file at {path}")
        return path
    if setting.choices and text not in setting.choices:
        raise ConfigError(f"{setting.env}: {shown} is not one of {', '.join(setting.choices)}")
    return text


def _url(setting: Setting, text: str) -> str:
    if setting is GATEWAY_URL and text == SANDBOX:
        return text
    if not text.lower().startswith(("http://", "https://")) or len(text) < 10:
        hint = "e.g. https://shop.example.com"
        if setting is GATEWAY_URL:
            close = difflib.get_close_matches(text.lower(), [SANDBOX], n=1, cutoff=0.6)
            hint = f"did you mean '{SANDBOX}'?" if close else f"or '{SANDBOX}'; {hint}"
        raise ConfigError(f"{setting.env}: {text!r} is not an http(s) URL; {hint}")
    return text.rstrip("/")


def _int(setting: Setting, value: Any, shown: str) -> int:
    if isinstance(value, bool):
        raise ConfigError(f"{setting.env}: {shown} is not a whole number")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigError(f"{setting.env}: {shown} is not a whole number") from None
    if setting.minimum is not None and number < setting.minimum:
        raise ConfigError(f"{setting.env}: must be {setting.minimum} or more, not {number}")
    return number


def _bool(setting: Setting, value: Any, shown: str) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"{setting.env}: {shown} is not yes or no")
