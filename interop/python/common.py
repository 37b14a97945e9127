"""Shared helpers of the interop scripts: one JSON line per operation on stdout.

Each line is {"sdk", "op", "result", "detail"} with result one of
"pass", "fail", "unsupported" or "skipped" (an operation not run because one it needs
failed first). `cargo xtask interop` reads these lines and builds its table; anything
else the SDKs print goes to stderr so stdout stays machine-readable.
"""

import json
import os
import sys
import traceback
import uuid

DETAIL_LIMIT = 400


def env(name):
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"interop: the environment variable {name} is not set (run it under `pats-sim env`)")
    return value


def admin_post(base_url, path, body):
    """POST `body` to the emulator's admin API on `base_url` (the port of the provider it acts
    on), with the per-run admin token of the exports when there is one; the JSON answer."""
    import urllib.request

    request = urllib.request.Request(
        f"{base_url}/_pats_sim/{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"content-type": "application/json"},
    )
    token = os.environ.get("PATS_SIM_ADMIN_TOKEN")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback only
        return json.load(answer)


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class CheckFailed(Exception):
    """The SDK call returned, but the answer is not what the lifecycle expects."""


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def describe(error):
    """A short, single-line account of an exception: its type, the HTTP status and the answer's
    body where the SDK keeps them (OpenAPI-generated ApiException: status/reason/body; ZITADEL's
    ApiError: code/response_body; DfnsError: status_code/details; python-gitlab's GitlabError:
    response_code/response_body), never the response headers."""
    status = status_of(error)
    body = getattr(error, "body", None) or getattr(error, "response_body", None) or getattr(error, "details", None)
    if status is not None and body not in (None, "", {}):
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        text = f"{type(error).__name__}: status={status} body={body}"
    else:
        text = f"{type(error).__name__}: {error}"
    return text.replace("\n", " ")[:DETAIL_LIMIT]


def status_of(error):
    """The HTTP status an SDK error carries, under whichever name the SDK gives it."""
    for name in ("status", "status_code", "code", "response_code"):
        value = getattr(error, name, None)
        if value:
            return value
    return None


def expect_status(status, call):
    """`call()` must fail with an SDK error carrying HTTP `status` and a readable message:
    the emulator's error answer has the provider's shape, which the SDK parsed."""
    try:
        call()
    except Exception as error:  # noqa: BLE001
        got = status_of(error)
        expect(got == status, f"expected HTTP {status}, got {describe(error)}")
        return describe(error)
    raise CheckFailed(f"expected HTTP {status}, the call succeeded")


class Reporter:
    def __init__(self, sdk):
        self.sdk = sdk
        self.failed = False

    def emit(self, op, result, detail=""):
        line = {"sdk": self.sdk, "op": op, "result": result, "detail": str(detail)[:DETAIL_LIMIT]}
        print(json.dumps(line), flush=True)

    def unsupported(self, op, why):
        self.emit(op, "unsupported", why)

    def skipped(self, op, why):
        self.emit(op, "skipped", why)

    def step(self, op, call, check=None, needs=True):
        """Runs `call()`; passes if it returns and `check(value)` (if given) returns a detail string
        or None without raising. Returns the value, or None when the step failed or was skipped.
        `needs` is False (or a string saying why) when an earlier step this one depends on failed."""
        if needs is not True:
            self.skipped(op, needs or "an earlier step failed")
            return None
        try:
            value = call()
            detail = check(value) if check else None
        except CheckFailed as error:
            self.failed = True
            self.emit(op, "fail", f"unexpected answer: {error}")
            return None
        except Exception as error:  # noqa: BLE001 - every SDK error is a result to report
            self.failed = True
            self.emit(op, "fail", describe(error))
            print(f"[{self.sdk}] {op}:", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
            return None
        self.emit(op, "pass", detail or "")
        return value if value is not None else True
