"""What counts as a secret: header names, field names, and the shapes of well-known keys.

Shared by the redactor (which replaces what it finds) and `virt scan` (which reports it), so
that whatever redaction leaves behind, a scan of the result finds nothing.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

PLACEHOLDER = re.compile(r"<secret:[0-9a-f]{8}>")
"""A redacted value: `<secret:` and eight hex digits of a keyed HMAC of the secret."""
REDACTED_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.<secret:[0-9a-f]{8}>")
"""A JWT of a recorded response, its claims kept and its signature replaced."""


def is_placeholder(value: str) -> bool:
    """Whether `value` is already redacted, whole."""
    return PLACEHOLDER.fullmatch(value) is not None or REDACTED_JWT.fullmatch(value) is not None


SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "apikey",
        "x-auth-token",
        "x-access-token",
        "x-amz-security-token",
        "x-goog-api-key",
        "x-vault-token",
        "private-token",
        "x-csrf-token",
        "x-xsrf-token",
    }
)
"""Headers whose values are credentials. Authorization-like values keep their scheme word."""

_SECRET_HEADER_WORDS = frozenset(
    {
        "token",
        "secret",
        "password",
        "passwd",
        "credential",
        "credentials",
        "apikey",
        "sessionid",
        "authorization",
    }
)
"""A header holding one of these words (split at `-` and `_`) carries a credential."""
_KEY_QUALIFIERS = frozenset(
    {"api", "auth", "subscription", "access", "secret", "private", "app", "client", "master"}
)
"""`<qualifier>-Key` headers are credentials (X-Auth-Key, Ocp-Apim-Subscription-Key); other
keys are not (Idempotency-Key, Sec-WebSocket-Key)."""

SECRET_FIELDS = frozenset(
    {
        "access_token",
        "refresh_token",
        "id_token",
        "client_secret",
        "password",
        "passwd",
        "code_verifier",
        "assertion",
        "client_assertion",
        "subject_token",
        "actor_token",
        "device_code",
        "api_key",
        "apikey",
        "secret",
        "private_key",
        "session_token",
        "aws_secret_access_key",
        "secret_access_key",
        "auth_token",
        "private_token",
        "api_token",
        "bearer_token",
        "api_secret",
        "app_secret",
        "consumer_secret",
        "oauth_token_secret",
        "secret_key",
        "master_key",
        "passphrase",
        # signed URLs
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "awsaccesskeyid",
        "x-goog-signature",
        "x-goog-credential",
    }
)
"""Names of JSON members, form fields and query parameters whose values are secrets."""

FORM_ONLY_FIELDS = frozenset({"code", "token", "signature", "sig"})
"""Secret as form fields and query parameters (OAuth's authorization code, revoked tokens, the
signature of a presigned URL), but too common as JSON members to be treated as secrets there:
{"code": "not_found"}, a commit's PGP `signature`, the `signature` of an LLM's thinking block
that the client must send back unchanged."""


@functools.lru_cache(maxsize=4096)
def normal_name(name: str) -> str:
    """A field name as virt compares it: `clientSecret`, `client-secret`, `Client_Secret` and
    `ns:ClientSecret` are all `clientsecret`."""
    return name.rsplit(":", 1)[-1].lower().replace("-", "").replace("_", "").replace(".", "")


_SECRET_NAMES = frozenset(normal_name(f) for f in SECRET_FIELDS)
_FORM_ONLY_NAMES = frozenset(normal_name(f) for f in FORM_ONLY_FIELDS)
SECRET_SUFFIXES = (
    "password",
    "passwd",
    "clientsecret",
    "apikey",
    "secretkey",
    "privatekey",
    "accesstoken",
    "refreshtoken",
    "authtoken",
)
"""A field whose normalised name ends with one of these is secret too: `newPassword`,
`db_password`, `github_access_token`, `xApiKey`."""


@dataclass(frozen=True, slots=True)
class Shape:
    """A well-known secret recognisable by its shape alone."""

    kind: str
    pattern: re.Pattern[str]


JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{8,}")
SHAPES = (
    Shape("jwt", JWT),
    Shape(
        "private-key",
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?"
            r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----"
        ),
    ),
    Shape("aws-access-key-id", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}\b")),
    Shape("github-token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_\w{40,})")),
    Shape("slack-token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    Shape("slack-webhook", re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9/]{20,}")),
    Shape("stripe-key", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}")),
    Shape("stripe-webhook-secret", re.compile(r"\bwhsec_[A-Za-z0-9]{24,}")),
    Shape("google-api-key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    Shape("google-oauth-token", re.compile(r"\bya29\.[0-9A-Za-z_-]{20,}")),
    Shape("gitlab-token", re.compile(r"\bglpat-[0-9A-Za-z_-]{20,}")),
    Shape("npm-token", re.compile(r"\bnpm_[A-Za-z0-9]{36}")),
    Shape("sendgrid-key", re.compile(r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}")),
    Shape("twilio-key", re.compile(r"\bSK[0-9a-f]{32}\b")),
)
"""Secrets found wherever they appear: in any header, query value or text body."""
_ANY_SHAPE = re.compile("|".join(f"(?:{shape.pattern.pattern})" for shape in SHAPES))
"""One pass that says whether any shape is there at all: most text holds none."""


@functools.lru_cache(maxsize=4096)
def is_secret_header(name: str) -> bool:
    """Whether a header named `name` carries a credential: the well-known ones, and names made
    of a credential word (X-Authorization, X-CSRF-Token) or ending in a qualified `-Key`
    (X-RapidAPI-Key, X-Auth-Key, Ocp-Apim-Subscription-Key)."""
    lname = name.lower()
    if lname in SECRET_HEADERS:
        return True
    if lname.startswith("access-control-"):
        return False  # CORS: Access-Control-Allow-Credentials: true is no credential
    words = [w for w in re.split(r"[-_]", lname) if w]
    # the credential word comes last: X-Slack-Shared-Secret-Outcome, GitHub-Authentication-
    # Token-Expiration and X-Amzn-Bedrock-Input-Token-Count only speak of one
    if not words or words[-1] in _SECRET_HEADER_WORDS:
        return bool(words)
    if words[-2:] in (["session", "id"], ["api", "key"]):
        return True
    if len(words) >= 2 and words[-1] == "key":
        before = words[-2]
        return before in _KEY_QUALIFIERS or before.endswith("api")
    return False


@functools.lru_cache(maxsize=4096)
def is_secret_field(name: str, *, form: bool) -> bool:
    """Whether a JSON member (form=False), form field or query parameter (form=True) holds a
    secret by its name, however it is spelled (`client_secret`, `clientSecret`, `api-key`)."""
    norm = normal_name(name)
    if norm in _SECRET_NAMES or norm.endswith(SECRET_SUFFIXES):
        return True
    return form and norm in _FORM_ONLY_NAMES


_MASK = frozenset("*•●·#xX")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s]*")
_URL_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@")
_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
    r"(?: ?(?:Z|UTC|GMT|[+-]\d{2}:?\d{2}))?)?"
    r"|[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT",  # an HTTP date
    re.IGNORECASE,
)
_PUBLIC_BLOCK = re.compile(
    r"\s*-----BEGIN (?:PGP SIGNATURE|SSH SIGNATURE|PGP PUBLIC KEY BLOCK|"
    r"PUBLIC KEY|CERTIFICATE)-----"
)
_SENTENCE = re.compile(r"\S+(?:\s+\S+){2,}")
_PLACEHOLDER_OF_OTHERS = re.compile(
    r"<[A-Z][A-Z0-9_ -]*>|\[[A-Z][A-Z0-9_ -]*\]|\{\{\s*[\w.-]+\s*\}\}|REDACTED|FILTERED",
)
"""What other recorders put where a secret was: <ACCESS_TOKEN>, [REDACTED], {{password}}."""


def is_credential_value(value: str) -> bool:
    """Whether a value held by a secret-named field looks like a credential. Names alone are
    not enough: GitHub's `/emojis` has a `secret` that is an image URL, APIs answer
    `"password": "*****"`. Not credentials: an empty or all-mask value, a URL (unless it
    carries a password), a date, a public PGP/SSH signature, key or certificate, another
    recorder's placeholder (<ACCESS_TOKEN>, [REDACTED]), a sentence (three words or more ending
    in `.`, `!` or `?`: a message, not a passphrase) or several lines of words (code, prose)."""
    text = value.strip()
    if not text or set(text) <= _MASK or _PLACEHOLDER_OF_OTHERS.fullmatch(text):
        return False
    if "\n" in text and _SENTENCE.fullmatch(text):
        return False
    if _URL.fullmatch(text):
        return _URL_PASSWORD.match(text) is not None
    if _DATE.fullmatch(text) or _PUBLIC_BLOCK.match(text):
        return False
    return not (_SENTENCE.fullmatch(text) and text[-1] in ".!?")


def header_spans(name: str, value: str) -> list[tuple[int, int]]:
    """The (start, end) spans of `value` that are secret, for a header named `name`.

    Authorization-like values keep their scheme word (`Bearer`, `AWS4-HMAC-SHA256`), cookies
    their names, Set-Cookie its attributes; everything else of a secret header is secret.
    """
    lname = name.lower()
    if not is_secret_header(lname):
        return []
    if lname not in SECRET_HEADERS and not is_credential_value(value):
        return []  # secret by its words only, and holding a date, a mask, a URL: no credential
    spans: list[tuple[int, int]] = []
    if lname in ("cookie", "set-cookie"):
        pos = 0
        for pair in value.split(";"):
            eq = pair.find("=")
            if eq >= 0:
                start = pos + eq + 1
                end = pos + len(pair)
                start += len(value[start:end]) - len(value[start:end].lstrip())
                end -= len(value[start:end]) - len(value[start:end].rstrip())
                if end > start:
                    spans.append((start, end))
            pos += len(pair) + 1
            if lname == "set-cookie":
                break  # the rest are attributes: Path, Expires, HttpOnly
        return spans
    if lname.endswith("authorization") and " " in value.strip():
        stripped = value.lstrip()
        start = len(value) - len(stripped) + stripped.index(" ")
        start += len(value[start:]) - len(value[start:].lstrip())
        return [(start, len(value.rstrip()))] if len(value.rstrip()) > start else []
    start, end = len(value) - len(value.lstrip()), len(value.rstrip())
    return [(start, end)] if end > start else []


def shape_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) of every well-known secret shape in `text`, in order, not overlapping."""
    if _ANY_SHAPE.search(text) is None:
        return []
    found: list[tuple[int, int, str]] = []
    for shape in SHAPES:
        for m in shape.pattern.finditer(text):
            found.append((m.start(), m.end(), shape.kind))
    found.sort()
    out: list[tuple[int, int, str]] = []
    for span in found:
        if not out or span[0] >= out[-1][1]:
            out.append(span)
    return out
