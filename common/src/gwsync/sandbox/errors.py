"""The Gateway's error shape (B2): {"code", "error", "message"} on every error."""

from __future__ import annotations

import json
from typing import Any

from flask import Response
from werkzeug.http import HTTP_STATUS_CODES


class ApiError(Exception):
    """Raised by a view; becomes an error response with the B2 shape."""

    def __init__(self, status: int, message: str, *, extra: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra or {}
        self.headers = headers or {}


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"code": status, "error": f"{status} {HTTP_STATUS_CODES.get(status, 'Error')}",
            "message": message}


def error_response(status: int, message: str, *, extra: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    body = error_body(status, message) | (extra or {})
    # json.dumps' default separators give byte for byte the sample of spec 6.2.
    text = json.dumps(body, ensure_ascii=False)
    return Response(text, status=status, headers=headers or {}, mimetype="application/json")


def from_api_error(error: ApiError) -> Response:
    return error_response(error.status, error.message, extra=error.extra, headers=error.headers)
