"""Image endpoints (B11): E14 /uploads/, E15 the storage POST, storage GET, E16 /downloads/."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from .context import current_shop, json_body, public_base_url, route, sandbox
from .errors import ApiError
from .images import (
    PLACEHOLDER_TYPE,
    SECRET_NAME,
    checked_source_url,
    checked_upload,
    fetch_loopback,
    hosted_key,
    is_loopback,
    placeholder_svg,
    upload_form,
)

files = Blueprint("files", __name__)


@route(files, "/uploads", "uploads", ["POST"])
def uploads() -> Response:
    """E14: a presigned form for one file."""
    body = json_body()
    if not isinstance(body, dict):
        raise ApiError(400, 'The body must be {"filename": ..., "content_type": ...}')
    filename, content_type = body.get("filename"), body.get("content_type")
    if not isinstance(filename, str) or not filename.strip():
        raise ApiError(400, "filename: required, a non-empty string")
    if not isinstance(content_type, str) or "/" not in content_type:
        raise ApiError(400, "content_type: required, a MIME type such as image/jpeg")
    secret = sandbox().store.secret(SECRET_NAME)
    return jsonify(upload_form(public_base_url(), current_shop(), filename.strip(), content_type, secret))


@route(files, "/storage", "storage_post", ["POST"], public=True)
def storage_post() -> Response:
    """E15: the multipart upload, without a token, as to S3; 204."""
    upload = request.files.get("file")
    if upload is None:
        raise ApiError(400, "The form needs a file part named 'file'")
    store = sandbox().store
    key, content_type = checked_upload(request.form.to_dict(), store.secret(SECRET_NAME))
    store.put_object(key, upload.read(), content_type)
    return Response(status=204)


@files.get("/storage/<path:key>", endpoint="storage_get")
def storage_get(key: str) -> Response:
    found = sandbox().store.get_object(key)
    if found is None:
        raise ApiError(404, f"No object {key}")
    data, content_type = found
    return Response(data, mimetype=None, content_type=content_type,
                    headers={"Cache-Control": "public, max-age=86400"})


storage_get.sandbox_public = True  # type: ignore[attr-defined]


@route(files, "/downloads", "downloads", ["POST"])
def downloads() -> Response:
    """E16: the hosted URL at once; the source is fetched only from loopback."""
    body = json_body()
    url = checked_source_url(body.get("url") if isinstance(body, dict) else None)
    key = hosted_key(current_shop(), url)
    store = sandbox().store
    fetched = fetch_loopback(url) if is_loopback(url) else None
    if fetched is not None:
        store.put_object(key, fetched[0], fetched[1], source_url=url)
    elif not is_loopback(url) and store.get_object(key) is None:
        store.put_object(key, placeholder_svg(url), PLACEHOLDER_TYPE, source_url=url)
    return jsonify({"url": f"{public_base_url()}/storage/{key}"})
