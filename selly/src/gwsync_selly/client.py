"""The only module that speaks Selly's generation-1 table API (`../shared/platforms/selly.md` §2, §4).

1. `GET {api}/?api=<API_ID>` -> `{"coin": 2137}`
2. `GET {api}/?key=<hex sha256(str(coin) + APP_KEY)>` -> `{"success": {"token", "expire_at"}}`
3. `GET {api}/apig?token=<token>&table=<name>` -> base64 of the whole table as a JSON array

The application key itself never leaves this process; only its one-time hash with the
challenge travels (and that, like the token, is registered as a secret: logs and messages
mask it). The token is renewed shortly before `expire_at` and once after a refused call.
What a refusal looks like is not recorded: an HTTP 401/403, or a JSON object where base64
was expected (base64 text never starts with `{`), are both treated as one.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from gwsync.errors import AuthError, HttpError
from gwsync.http import HttpClient, excerpt, http_error
from gwsync.redact import register_secret

from .decoding import DamagedAnswer, decode_table

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.selly.pl"
TABLE_ATTEMPTS = 4  # damaged answers: ask again this many times in all, then stop the run
RENEW_BEFORE = timedelta(minutes=2)  # renew the token this long before it expires
FALLBACK_LIFETIME = timedelta(minutes=10)  # when expire_at cannot be read


class TableUnreadable(HttpError):
    """A table answer stayed damaged after every attempt: the read cannot be trusted."""


@dataclass
class Token:
    value: str
    expires: datetime


class SellyClient:
    def __init__(self, http: HttpClient, api_id: str, app_key: str, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.http = http
        self.api_id = api_id
        self._app_key = app_key
        self._clock, self._sleep = clock, sleep
        self.token: Token | None = None
        self.handshakes = 0
        self.damaged: dict[str, int] = {}  # table -> damaged answers seen (repaired or retried)

    # -- handshake ------------------------------------------------------------------------

    def authenticate(self) -> Token:
        coin_answer = self._json(self.http.get("", params={"api": self.api_id}, retry=False), "challenge")
        coin = coin_answer.get("coin") if isinstance(coin_answer, dict) else None
        if isinstance(coin, bool) or not isinstance(coin, int | str) or not str(coin).strip().isdigit():
            raise AuthError(f"Selly: API id {self.api_id} was not accepted (no challenge in the answer"
                            f"{_detail(coin_answer)}); check SELLY_API_ID in the shop's panel")
        digest = hashlib.sha256((str(coin).strip() + self._app_key).encode()).hexdigest()
        register_secret(digest)
        answer = self._json(self.http.get("", params={"key": digest}, retry=False), "token")
        success = answer.get("success") if isinstance(answer, dict) else None
        value = success.get("token") if isinstance(success, dict) else None
        if not isinstance(value, str) or not value.strip():
            raise AuthError(f"Selly: the application key was refused for API id {self.api_id}"
                            f"{_detail(answer)}; check SELLY_APP_KEY in the shop's panel")
        register_secret(value)
        self.token = Token(value.strip(), _expiry(success.get("expire_at"), self._clock()))
        self.handshakes += 1
        return self.token

    def _valid_token(self) -> str:
        if self.token is None or self._clock() >= self.token.expires - RENEW_BEFORE:
            self.authenticate()
        assert self.token is not None
        return self.token.value

    # -- tables ---------------------------------------------------------------------------

    def table(self, name: str) -> list[dict[str, Any]]:
        """Every row of one table. Damaged answers are asked again (bounded); a refused token
        is renewed once. Raises TableUnreadable when the answer never parses."""
        reasons: list[str] = []
        renewed = False
        attempt = 0
        while attempt < TABLE_ATTEMPTS:
            response = self.http.get("apig", params={"token": self._valid_token(), "table": name})
            if _refused(response):
                if renewed:
                    raise AuthError(f"Selly: the API refused a fresh token for table {name} "
                                    f"(HTTP {response.status_code}{_detail_text(response)}); check that "
                                    "the API access of SELLY_API_ID is enabled in the shop's panel")
                renewed = True
                self.token = None
                continue
            if response.status_code != 200:
                raise http_error(response, f"Selly: table {name}")
            attempt += 1
            try:
                table = decode_table(response.content)
            except DamagedAnswer as exc:
                self.damaged[name] = self.damaged.get(name, 0) + 1
                reasons.append(str(exc))
                log.warning("Selly: table %s answer %d of %d unreadable: %s", name, attempt, TABLE_ATTEMPTS, exc)
                if attempt < TABLE_ATTEMPTS:
                    self._sleep(min(0.5 * 2 ** (attempt - 1), 4.0))
                continue
            if table.trailing_bytes:
                self.damaged[name] = self.damaged.get(name, 0) + 1
                log.info("Selly: table %s had %d bytes of garbage after its JSON; the JSON was kept",
                         name, table.trailing_bytes)
            return table.rows
        raise TableUnreadable(f"Selly: table {name} could not be read in {TABLE_ATTEMPTS} attempts "
                              f"(last: {reasons[-1]}); the run stopped and nothing was archived")

    # -- helpers --------------------------------------------------------------------------

    @staticmethod
    def _json(response: requests.Response, what: str) -> Any:
        if response.status_code in (401, 403):
            return {"error": f"HTTP {response.status_code}{_detail_text(response)}"}
        if response.status_code != 200:
            raise http_error(response, f"Selly: {what}")
        try:
            return response.json()
        except ValueError:
            raise HttpError(f"Selly: the {what} answer is not JSON{_detail_text(response)}; "
                            "is SELLY_API_URL the table API (https://api.selly.pl)?",
                            status=response.status_code) from None


def _refused(response: requests.Response) -> bool:
    if response.status_code in (401, 403):
        return True
    return response.status_code == 200 and response.content.lstrip()[:1] == b"{"


def _expiry(value: Any, now: datetime) -> datetime:
    try:
        expires = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return now + FALLBACK_LIFETIME
    expires = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
    # A fresh token "expired" already means the two clocks disagree: trust neither, renew
    # after a short while (and at once if the API refuses it sooner).
    return expires if expires - RENEW_BEFORE > now else now + FALLBACK_LIFETIME


def _detail(answer: Any) -> str:
    if isinstance(answer, dict):
        message = answer.get("error") or answer.get("message") or answer.get("errors")
        if message:
            return f": {str(message)[:200]}"
    return ""


def _detail_text(response: requests.Response) -> str:
    body = excerpt(response, 200)
    return f": {body}" if body else ""
