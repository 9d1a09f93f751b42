"""The sandbox Flask app: hooks for faults, auth and the journal, and the error shape."""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from typing import Any

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from .api_files import files
from .api_products import products
from .api_tags import tags
from .auth import authenticate
from .catalog import Catalog
from .context import EXTENSION, Sandbox, sandbox
from .dsl import QueryError
from .errors import ApiError, error_response, from_api_error
from .faults import Faults
from .page import page
from .stock_events import stock_events
from .store import JournalEntry, Store, TagExists
from .tools import tools
from .validation import BatchTooLarge, ValidationFailed

log = logging.getLogger(__name__)

STORAGE_BODY_LIMIT = 32 * 1024 * 1024  # uploads may be larger than a JSON body
UNTRACKED_BLUEPRINTS = frozenset({"tools", "page", "stock_events"})  # local tooling: no faults, no journal
# Writes whose answer can be lost after commit: products, tags, image grants, uploads, copies.
DROP_ROUTES = frozenset({"create_products", "update_product", "archive_product", "create_shop_tag",
                         "create_tag", "uploads", "storage_post", "downloads"})


def create_app(store: Store, *, faults: Faults | None = None, base_url: str | None = None) -> Flask:
    """A WSGI app emulating the Gateway (spec Part B) over `store`.

    `faults` may be shared with the caller to inject failures; `base_url` is
    the public root used in hosted image URLs (default: the request's host).
    """
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = STORAGE_BODY_LIMIT
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    faults = faults or Faults()
    app.extensions[EXTENSION] = Sandbox(store, Catalog(store, faults), faults,
                                        base_url.rstrip("/") if base_url else None)
    for blueprint in (products, tags, files, tools, page, stock_events):
        app.register_blueprint(blueprint)
    app.before_request(_inject_faults)
    app.before_request(_authenticate)
    app.after_request(_finish)
    _register_error_handlers(app)
    return app


def _tracked() -> bool:
    return request.blueprint not in UNTRACKED_BLUEPRINTS


def _route_name() -> str:
    return request.endpoint.rsplit(".", 1)[-1] if request.endpoint else "unmatched"


def _is_public() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return view is None or getattr(view, "sandbox_public", False) or not _tracked()


# -- hooks -----------------------------------------------------------------

def _inject_faults() -> Response | None:
    """Latency, then 429 or 5xx "before doing anything", for API requests only."""
    if not _tracked():
        return None
    faults = sandbox().faults
    delay = faults.latency_for(request.path)
    if delay:
        time.sleep(delay)
    injection = faults.before_request(request.path)
    if injection is None:
        return None
    g.fault = injection.kind
    message = "Too many requests" if injection.status == 429 else "Injected server error"
    return error_response(injection.status, message, headers=injection.headers)


def _authenticate() -> None:
    """B1: a valid shop token; a `{shop}` in the path must be the token's shop (else 403)."""
    if _is_public():
        return
    g.shop = authenticate(request.headers.get("Authorization"), sandbox().store.shop_key)
    path_shop = (request.view_args or {}).get("shop")
    if path_shop is not None and path_shop.lower() != g.shop:
        raise ApiError(403, f"The token of shop {g.shop} cannot act on shop {path_shop}")


def _finish(response: Response) -> Response:
    """Drop a committed write's answer when told to, then journal the request (B15)."""
    if not _tracked():
        return response
    if _route_name() in DROP_ROUTES and response.status_code < 400:
        mode = sandbox().faults.drop_after_commit(request.path, _route_name())
        if mode:
            response = _drop(response, mode)
    _journal(response.status_code)
    return response


def _drop(response: Response, mode: str) -> Response:
    """Lose the answer of a committed write: break the connection, or answer 504.

    "reset" shuts the client socket down, so the client sees the connection
    close without any answer (requests: ConnectionError). Where there is no
    socket (Flask's test client), it falls back to a 504.
    """
    sock = request.environ.get("werkzeug.socket")
    if mode == "reset" and isinstance(sock, socket.socket):
        g.fault = "drop:reset"
        with contextlib.suppress(OSError):  # the client may be gone already
            sock.shutdown(socket.SHUT_RDWR)
        return response  # werkzeug's write fails quietly on the closed socket
    g.fault = "drop:504"
    return error_response(504, "The upstream did not answer in time")


def _journal(status: int) -> None:
    try:
        entry = JournalEntry(
            method=request.method, path=request.path,
            query=request.query_string.decode("latin-1"), route=_route_name(), status=status,
            shop=g.get("shop"), fault=g.get("fault"), body=_journal_body(),
            raw_json=request.get_data(as_text=True) if "json_body" in g else None,
        )
        sandbox().store.record_request(entry)
    except Exception:  # the journal must never turn an answer into an error
        log.exception("could not journal %s %s", request.method, request.path)


def _journal_body() -> Any:
    """What to journal besides a parsed JSON body (kept as received, see `_journal`)."""
    if "json_body" in g:
        return None
    if request.mimetype == "multipart/form-data":
        return {"form": request.form.to_dict(),
                "files": {name: {"filename": f.filename, "content_type": f.mimetype}
                          for name, f in request.files.items()}}
    if request.method in ("POST", "PUT", "PATCH") and (request.content_length or 0) > 0:
        return {"unparsed_bytes": request.content_length}
    return None


# -- errors (B2 shape everywhere) -------------------------------------------

def _register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ApiError, from_api_error)
    app.register_error_handler(ValidationFailed, _validation_failed)
    app.register_error_handler(BatchTooLarge, lambda e: error_response(413, f"products: {e}"))
    app.register_error_handler(QueryError, lambda e: error_response(400, f"dsl: {e}"))
    app.register_error_handler(TagExists, _tag_exists)
    app.register_error_handler(HTTPException, _http_exception)
    app.register_error_handler(Exception, _unexpected)


def _validation_failed(error: ValidationFailed) -> Response:
    details = [{"path": p.path, "message": p.message} for p in error.problems]
    return error_response(400, str(error), extra={"errors": error.paths, "details": details})


def _tag_exists(error: TagExists) -> Response:
    # Spec 6.2: the message itself is a JSON string in double quotes.
    return error_response(409, f'"Tag ({error.guid}) already exists"')


def _http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    return error_response(status, error.description or str(error), headers=headers)


def _unexpected(error: Exception) -> Response:
    log.exception("unexpected error in the sandbox", exc_info=error)
    return error_response(500, f"Internal error: {type(error).__name__}")
