"""Who may do what in the survey: signed cookies for participants, pseudonyms for the
exports, and the organiser's admin token for the results.

    signer = CookieSigner(store.cookie_key)
    value = signer.sign(PARTICIPANT, who)               # the cookie's value
    (who,) = signer.unsign(PARTICIPANT, value)          # None if forged or altered
    signer.pseudonym(who)                               # what the exports show
    visitor = identify(request, signer, store)          # who sent a request

A visit writes nothing: the photo shown to a visitor, and when, is kept in a signed
cookie (PENDING_COOKIE); their first vote makes them a participant and gives them
COOKIE (`admit`). A participant id never leaves the server unsigned: the exports show
a pseudonym (an HMAC of the id under another label), which is no cookie. Standard
library only (requests and responses are Starlette's, passed in).
"""

import dataclasses
import hashlib
import hmac
import secrets
import time

from colorization.app.survey import SurveyError, new_participant_id

COOKIE = "survey_participant"
PENDING_COOKIE = "survey_shown"
PARTICIPANT = "participant"  # what COOKIE holds: (participant id,)
PENDING = "pending"  # PENDING_COOKIE: (future participant id, photo id, shown at ms)
MIN_TOKEN_LENGTH = 16
_MAC_HEX = 32  # 128 bits of HMAC-SHA256
_PSEUDONYM_HEX = 12
_YEAR = 365 * 24 * 3600


class CookieSigner:
    """Signs and checks cookie values, and makes the exports' pseudonyms.

    Args:
        key: The survey's secret key (`SurveyStore.cookie_key`).
    """

    def __init__(self, key):
        self.key = key

    def _mac(self, label, text):
        message = f"{label}\0{text}".encode()
        return hmac.new(self.key.encode(), message, hashlib.sha256).hexdigest()

    def sign(self, kind, *fields):
        """'FIELD.FIELD.MAC'; fields must not contain '.'."""
        payload = ".".join(str(field) for field in fields)
        return f"{payload}.{self._mac(kind, payload)[:_MAC_HEX]}"

    def unsign(self, kind, value):
        """The fields of a value signed as `kind`, or None if it was not."""
        payload, _, mac = (value or "").rpartition(".")
        expected = self._mac(kind, payload)[:_MAC_HEX]
        if not payload or not hmac.compare_digest(mac.encode(), expected.encode()):
            return None
        return tuple(payload.split("."))

    def pseudonym(self, participant):
        """A participant's stable name in the exports; it cannot be used to vote."""
        return self._mac("pseudonym", participant)[:_PSEUDONYM_HEX]


def admin_token(given=None):
    """The admin token: `given`, or a new random one.

    Raises:
        SurveyError: `given` is shorter than MIN_TOKEN_LENGTH.
    """
    if given is None:
        return secrets.token_urlsafe(32)
    if len(given) < MIN_TOKEN_LENGTH:
        raise SurveyError(
            f"the survey's admin token must have at least {MIN_TOKEN_LENGTH} characters"
        )
    return given


def is_admin(request, token):
    """Whether the request carries `token`, as 'Authorization: Bearer TOKEN' or as
    ?token=TOKEN (compared in constant time)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    offered = [request.query_params.get("token", "")]
    if scheme.lower() == "bearer":
        offered.append(value.strip())
    return any(
        hmac.compare_digest(text.encode(), token.encode()) for text in offered if text
    )


@dataclasses.dataclass(frozen=True)
class Visitor:
    """Who sent a request: a participant (`known`), or a visitor who has not voted
    yet, with the photo shown to them and when (None before their first photo)."""

    participant: str
    known: bool
    has_cookie: bool = True  # a participant without COOKIE gets it again
    photo: str | None = None
    shown_at: float | None = None


def identify(request, signer, store):
    """The request's `Visitor`, from its signed cookies (reads the database only)."""
    fields = signer.unsign(PARTICIPANT, request.cookies.get(COOKIE))
    if fields and store.has_participant(fields[0]):
        return Visitor(fields[0], True)
    fields = signer.unsign(PENDING, request.cookies.get(PENDING_COOKIE))
    if fields is None:
        return Visitor(new_participant_id(), False)
    participant, photo_id, shown_ms = fields
    if store.has_participant(participant):  # their first vote's answer was lost
        return Visitor(participant, True, has_cookie=False)
    return Visitor(participant, False, photo=photo_id, shown_at=int(shown_ms) / 1000)


def remember_shown(response, request, signer, participant, photo_id):
    """Keeps the photo shown to a visitor, and when, in their PENDING_COOKIE."""
    value = signer.sign(PENDING, participant, photo_id, round(1000 * time.time()))
    response.set_cookie(PENDING_COOKIE, value, max_age=_YEAR, **_private(request))


def admit(response, request, signer, participant):
    """Gives a participant their signed COOKIE; their PENDING_COOKIE is spent."""
    value = signer.sign(PARTICIPANT, participant)
    response.set_cookie(COOKIE, value, max_age=_YEAR, **_private(request))
    response.delete_cookie(PENDING_COOKIE, **_private(request))


def _private(request):
    """Cookies scripts cannot read, sent to this site only, and over https only when
    the request came over https."""
    secure = request.url.scheme == "https"
    return {"httponly": True, "samesite": "strict", "secure": secure}
