"""The inspector: every check the server made for one attempt, recorded by the code that decides.

A refused request tells the client only RFC 6749's terse error code. The application's Logs tab
shows more, to its administrator: the ordered list of checks the server made, which passed, what
each expected and what it saw, and the one that failed. The record is made as the checks run,
so it can never disagree with the decision:

- `begin(subject)` starts an empty record for this request (the front door, a request-object check);
- right after a check succeeds, its code says so in one line: `passed("aud is the issuer", saw=aud)`;
- a check that fails raises, as it always has; whoever catches the error adds it with `failed(error)`.
  Nothing after a raise runs, so no later check is ever claimed;
- `show_jose(...)` and `show_certificate(...)` add what the request presented: the decoded JOSE
  header and claims (never the signature), or a summary of the client certificate.

Nothing secret is recorded: a check of a client secret says only that it matched or not, and
the server never holds a private key. The record lives in this request (a ContextVar, cleared
when the request ends: cheaper on the token endpoint than flask.g) until `document()` turns it
into the JSON stored with the event (models/auth_event.py `inspection`).
Failures are always kept; successes at most once per application per
APPCREDS_INSPECT_SUCCESSES_EVERY seconds (`keep_success`), so a token costs a few list appends.
"""
import json
import time
from contextvars import ContextVar
from dataclasses import dataclass, field

from flask import Flask, current_app

MAX_SHOWN = 300           # characters of one value shown in a check
_NOT_GIVEN = object()     # a check that expected or saw nothing worth showing


@dataclass
class Inspection:
    subject: str  # what was checked: "client authentication", "request object" or "access token"
    checks: list = field(default_factory=list)     # ("pass", check, saw, expected) or ("fail", reason_code, reason)
    jose: tuple | None = None                      # (what, header, claims) of an assertion or request object
    certificate: object | None = None              # the edge's ClientCertificate


_current: ContextVar[Inspection | None] = ContextVar("appcreds_inspection", default=None)


def init_inspection(app: Flask) -> None:
    """Forget each request's record when the request ends (a thread serves many requests)."""
    app.teardown_request(lambda _error: _current.set(None))


def begin(subject: str) -> None:
    """Start recording the checks of one attempt in this request."""
    _current.set(Inspection(subject))


def passed(check: str, saw=_NOT_GIVEN, expected=_NOT_GIVEN) -> None:
    """Record that `check` was made and passed; call it right after the code that checked."""
    inspection = _current.get()
    if inspection is not None:
        inspection.checks.append(("pass", check, saw, expected))


def failed(error) -> None:
    """Record the check that failed: the error it raised (a LoggedOAuth2Error's reason code and reason)."""
    inspection = _current.get()
    if inspection is not None:
        reason_code = getattr(error, "reason_code", None) or getattr(error, "error", None) or type(error).__name__
        inspection.checks.append(("fail", reason_code, getattr(error, "reason", None) or str(error)))


def failed_document(error) -> dict | None:
    """Record the failed check, then return the whole record (`document`)."""
    failed(error)
    return document()


def show_jose(what: str, header: dict, claims: dict) -> None:
    """Keep the decoded header and claims of a JWT the request presented (never its signature)."""
    inspection = _current.get()
    if inspection is not None:
        inspection.jose = (what, header, claims)


def show_certificate(presented) -> None:
    """Keep the client certificate the edge forwarded, summarised only if the record is kept."""
    inspection = _current.get()
    if inspection is not None:
        inspection.certificate = presented


# --- what is kept ---------------------------------------------------------------------------------

def keep_success(key) -> bool:
    """Keep this success's inspection? At most one per `key` (an application's pk, or what it did and the pk)
    per APPCREDS_INSPECT_SUCCESSES_EVERY s, counted in each process (key -> time.monotonic() of the last)."""
    every = float(current_app.config["APPCREDS_INSPECT_SUCCESSES_EVERY"])
    last_kept = current_app.extensions.setdefault("appcreds_inspected_successes", {})
    now = time.monotonic()
    if every > 0 and now - last_kept.get(key, -every) < every:
        return False
    if len(last_kept) >= 100_000:  # a bound, not an LRU: forgetting only keeps one more success
        last_kept.clear()
    last_kept[key] = now
    return True


def document() -> dict | None:
    """This request's record as the JSON stored with its event, or None when nothing was recorded."""
    inspection = _current.get()
    if inspection is None:
        return None
    checks = []
    for entry in inspection.checks:
        if entry[0] == "fail":
            checks.append({"outcome": "fail", "check": entry[1], "reason": shown(entry[2])})
            continue
        _, check, saw, expected = entry
        item = {"outcome": "pass", "check": check}
        if expected is not _NOT_GIVEN:
            item["expected"] = shown(expected)
        if saw is not _NOT_GIVEN:
            item["saw"] = shown(saw)
        checks.append(item)
    result = {"subject": inspection.subject, "checks": checks}
    if inspection.jose is not None:
        what, header, claims = inspection.jose
        result["jose"] = {"what": what, "header": header, "claims": claims}
    if inspection.certificate is not None:
        result["certificate"] = certificate_summary(inspection.certificate)
    return result


def certificate_summary(presented) -> dict:
    """Subject, issuer, validity, RFC 8705 §3.1 thumbprint and the edge's verdict: never the key."""
    certificate = presented.certificate
    return {
        "subject": certificate.subject.rfc4514_string(),
        "issuer": certificate.issuer.rfc4514_string(),
        "self_signed": certificate.subject == certificate.issuer,
        "not_before": certificate.not_valid_before_utc.isoformat(timespec="seconds"),
        "not_after": certificate.not_valid_after_utc.isoformat(timespec="seconds"),
        "x5t#S256": presented.thumbprint,
        "edge_verdict": presented.edge_verdict,
    }


def shown(value) -> str:
    """A value as the inspector shows it: strings as they are, anything else as compact JSON; cut short."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, separators=(", ", ": "), default=str)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN - 3] + "..."
