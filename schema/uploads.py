"""File uploads to /graphql: the GraphQL multipart request specification
(github.com/jaydenseric/graphql-multipart-request-spec), as Apollo and urql upload clients send it.

A `multipart/form-data` POST carries an `operations` field (the usual JSON request), a `map`
field (`{"0": ["variables.input.file"]}`) and the files; each mapped path must lead to a
`null` among the variables, and becomes the file (a Starlette `UploadFile`, read by the
resolver through the `Upload` scalar). The whole body is bounded (`GRAPHQL_MAX_UPLOAD_BYTES`,
BODY_TOO_LARGE) and read before it is parsed; the JSON fields keep the limits of a JSON body.
No batches. Credentials travel in the Authorization header only, never in a cookie, so a
form another site makes a browser post acts as nobody (no CSRF token needed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import Message

from permissions.limits import Limits
from schema.errors import Refused, RequestCode, refuse

MULTIPART = "multipart/form-data"
#: Files one request may carry, and other form fields besides `operations` and `map`.
MAX_FILES = 5
MAX_FIELDS = 2


@dataclass(frozen=True)
class UploadedFile:
    """An uploaded file, read whole (the body is bounded): what an `Upload` argument holds."""

    filename: str | None
    content_type: str | None
    content: bytes

    async def read(self) -> bytes:
        return self.content


def is_multipart(content_type: str | None) -> bool:
    return (content_type or "").partition(";")[0].strip().lower() == MULTIPART


def _bad(message: str, field: str | None = None) -> Refused:
    return refuse(RequestCode.BAD_REQUEST, message, status=400, field=field)


async def _bounded_body(request: Request, limit: int) -> bytes:
    too_large = refuse(
        RequestCode.BODY_TOO_LARGE, f"the upload is larger than {limit} bytes", status=400
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _replayed(request: Request, body: bytes) -> Request:
    """The same request with its (already read, bounded) body served again to the parser."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)


def _place(variables: Any, path: str, upload: UploadedFile) -> None:
    """Put `upload` where `path` (`variables.input.files.0`) points; it must be a null."""
    keys = path.split(".")
    if len(keys) < 2 or keys[0] != "variables":
        raise _bad(f"`map` path {path!r} must lead into `variables`", "map")
    target = variables
    for key in keys[1:-1]:
        target = _step(target, key, path)
    last = keys[-1]
    if isinstance(target, list) and last.isdigit() and int(last) < len(target):
        if target[int(last)] is not None:
            raise _bad(f"`map` path {path!r} must lead to a null", "map")
        target[int(last)] = upload
    elif isinstance(target, dict) and last in target:
        if target[last] is not None:
            raise _bad(f"`map` path {path!r} must lead to a null", "map")
        target[last] = upload
    else:
        raise _bad(f"`map` path {path!r} leads nowhere in `variables`", "map")


def _step(target: Any, key: str, path: str) -> Any:
    if isinstance(target, list) and key.isdigit() and int(key) < len(target):
        return target[int(key)]
    if isinstance(target, dict) and key in target:
        return target[key]
    raise _bad(f"`map` path {path!r} leads nowhere in `variables`", "map")


async def read_multipart(request: Request, limits: Limits, decode: Any) -> dict[str, Any]:
    """The request parameters of a multipart upload, files in place of their nulls.

    `decode(text, what, limits)` is the transport's strict JSON decoder."""
    body = await _bounded_body(request, limits.max_upload_bytes)
    try:
        form = await _replayed(request, body).form(
            max_files=MAX_FILES,
            max_fields=MAX_FIELDS + 2,
            max_part_size=limits.max_body_bytes,
        )
    except MultiPartException as exc:
        raise _bad(f"the multipart body is malformed: {exc.message}") from None
    operations_text = form.get("operations")
    map_text = form.get("map")
    if not isinstance(operations_text, str):
        raise _bad(
            "a multipart request needs an `operations` field (the JSON request)", "operations"
        )
    if not isinstance(map_text, str):
        raise _bad("a multipart request needs a `map` field", "map")
    data = decode(operations_text, "`operations`", limits)
    if not isinstance(data, dict):
        raise _bad("`operations` must be one JSON object (no batches)", "operations")
    mapping = decode(map_text, "`map`", limits)
    if not isinstance(mapping, dict) or not all(
        isinstance(paths, list) and paths and all(isinstance(p, str) for p in paths)
        for paths in mapping.values()
    ):
        raise _bad("`map` must be an object of lists of paths", "map")
    variables = data.get("variables")
    if mapping and not isinstance(variables, dict):
        raise _bad("`operations.variables` must hold the nulls the files replace", "variables")
    try:
        unmapped = [
            k for k, v in form.multi_items() if isinstance(v, UploadFile) and k not in mapping
        ]
        if unmapped:
            raise _bad(f"files not named in `map`: {', '.join(sorted(unmapped))}", "map")
        for key, paths in mapping.items():
            given = form.get(key)
            if not isinstance(given, UploadFile):
                raise _bad(f"the file {key!r} named in `map` is missing", "map")
            upload = UploadedFile(given.filename, given.content_type, await given.read())
            for path in paths:
                _place(variables, path, upload)
    finally:
        await form.close()
    return data
