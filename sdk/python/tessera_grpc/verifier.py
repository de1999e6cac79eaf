"""Local verification of Tessera's access tokens (RFC 9068, RFC 8725) with PyJWT and cryptography."""

import base64
import json
import math
import re
import threading
import time
from dataclasses import dataclass, field

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from . import errors

DEFAULT_ALGORITHMS = ("ES256", "EdDSA", "RS256")
DEFAULT_CLOCK_TOLERANCE = 30
DEFAULT_MAX_LIFETIME = 3600
DEFAULT_MAX_TOKEN_BYTES = 8192
DEFAULT_REFETCH_COOLDOWN = 30
DEFAULT_STALE_AFTER = 30

_BASE64URL = re.compile(r"^[A-Za-z0-9_-]*$")
_B64TOKEN = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")
_KEY_MEMBERS = frozenset({"jwk", "jku", "x5u", "x5c"})
_TWO_CREDENTIALS = "the request carries more than one authorization header; send exactly one"


@dataclass(frozen=True)
class Principal:
    """The verified caller."""

    client_id: str
    subject: str
    audience: str
    issuer: str
    jti: str
    kid: str
    scopes: frozenset
    issued_at: float
    expires_at: float
    claims: dict = field(repr=False)


def _decode_part(part):
    """Canonical unpadded base64url only: a re-encoded part is another token."""
    if not _BASE64URL.match(part) or len(part) % 4 == 1:
        return None
    decoded = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    return decoded if base64.urlsafe_b64encode(decoded).rstrip(b"=").decode() == part else None


def _reject_constant(name):
    raise ValueError(name)


def _json_object(raw):
    try:
        text = raw.decode("utf-8")
        if text.startswith("\ufeff"):
            text = text[1:]
        value = json.loads(text, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _number(payload, name):
    if name not in payload:
        return None
    value = payload[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise errors.invalid_token(f"the token's {name} claim is malformed")
    return value


def _algorithm_of_key(key):
    """The one algorithm a key verifies: its type pins it (RFC 8725 section 3.1)."""
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ES256" if key.curve.name == "secp256r1" else None
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "EdDSA"
    if isinstance(key, rsa.RSAPublicKey):
        return "RS256" if key.key_size >= 2048 else None
    return None


def bearer_credential(values):
    """The token of a call's authorization values; None when there is none. Raises AuthError."""
    if len(values) > 1:
        raise errors.invalid_request(_TWO_CREDENTIALS)
    if not values or values[0] == "":
        return None
    authorization = values[0]
    if "," in authorization:
        raise errors.invalid_request(_TWO_CREDENTIALS)
    scheme, space, token = authorization.partition(" ")
    if len(scheme) != 6 or scheme.lower() != "bearer":
        raise errors.invalid_token("the authorization header must use the Bearer scheme")
    if not space:
        raise errors.invalid_token("the bearer token is missing from the authorization header")
    return token.strip(" \t\n\r\v\f")


def _parse_jwks(jwks_json):
    keys = {}
    for jwk in json.loads(jwks_json).get("keys", []):
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid or "d" in jwk:
            continue
        try:
            keys[kid] = jwt.PyJWK(jwk).key
        except (jwt.PyJWTError, ValueError, KeyError):
            continue
    return keys


class KeySet:
    """The issuer's keys, cached: an unknown kid causes at most one fetch per cooldown, concurrent fetches are
    one, a failed fetch keeps the last good set. fetch() returns the JWK Set as JSON text. watch_keys replaces it."""

    def __init__(self, fetch, cooldown=DEFAULT_REFETCH_COOLDOWN, clock=time.monotonic):
        self._fetch = fetch
        self._cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._fetch_lock = threading.Lock()
        self._keys = {}
        self._revoked = frozenset()
        self._loaded = False
        self._last_fetch = None

    def replace(self, jwks_json, revoked_kids=()):
        keys = _parse_jwks(jwks_json)
        with self._lock:
            self._keys, self._revoked, self._loaded = keys, frozenset(revoked_kids), True

    def key(self, kid):
        """The public key of kid, or None when unknown; raises AuthError (UNAVAILABLE) when no set could be loaded."""
        with self._lock:
            if kid in self._revoked:
                return None
            if kid in self._keys:
                return self._keys[kid]
            started = self._last_fetch
        with self._fetch_lock:  # one fetch at a time; waiters then see its result
            with self._lock:
                if kid in self._keys and kid not in self._revoked:
                    return self._keys[kid]
                fetched_meanwhile = self._last_fetch != started
                cooling = self._loaded and self._last_fetch is not None and self._clock() - self._last_fetch < self._cooldown
                if not fetched_meanwhile and not cooling:
                    self._last_fetch = self._clock()
                    fetch_now = True
                else:
                    fetch_now = False
            if fetch_now:
                try:
                    keys = _parse_jwks(self._fetch())
                    with self._lock:
                        self._keys, self._loaded = keys, True
                except Exception:  # noqa: BLE001 - the last good set stays
                    pass
        with self._lock:
            if not self._loaded:
                raise errors.unavailable("the issuer's keys could not be fetched")
            return None if kid in self._revoked else self._keys.get(kid)


class Revocations:
    """A verifier's deny set, fed by watch_revocations: tokens (iss, jti), keys (iss, kid), client cut-offs."""

    def __init__(self, stale_after=DEFAULT_STALE_AFTER, clock=time.monotonic):
        self._stale_after = stale_after
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens, self._keys, self._clients = {}, {}, {}
        self._loaded = False
        self._last_sync = None
        self._loaded_event = threading.Event()

    def wait_loaded(self, timeout=None):
        """Whether the revocations in force were loaded (the first snapshot) within timeout seconds: wait for it
        before serving, as the verifier answers UNAVAILABLE until then."""
        return self._loaded_event.wait(timeout)

    def reset(self):
        with self._lock:
            self._tokens, self._keys, self._clients = {}, {}, {}

    def revoke_token(self, issuer, jti, expires_at=0):
        with self._lock:
            self._tokens[(issuer, jti)] = expires_at

    def revoke_key(self, issuer, kid, expires_at=0):
        with self._lock:
            self._keys[(issuer, kid)] = expires_at

    def cut_off_client(self, issuer, client_id, issued_before, expires_at=0):
        with self._lock:
            before, until = self._clients.get((issuer, client_id), (0, 0))
            self._clients[(issuer, client_id)] = (max(issued_before, before), max(expires_at, until))

    def synced(self):
        with self._lock:
            self._loaded, self._last_sync = True, self._clock()
            self._prune()

    def _prune(self):
        """Drops entries whose tokens have all expired anyway (an entry without an expiry, 0, is kept)."""
        now = time.time()
        for entries in (self._tokens, self._keys):
            for key in [k for k, expires_at in entries.items() if 0 < expires_at < now]:
                del entries[key]
        for key in [k for k, (_, expires_at) in self._clients.items() if 0 < expires_at < now]:
            del self._clients[key]
        self._loaded_event.set()

    def current(self):
        with self._lock:
            return self._loaded and self._clock() - self._last_sync <= self._stale_after

    def denied(self, principal):
        with self._lock:
            if (principal.issuer, principal.jti) in self._tokens or (principal.issuer, principal.kid) in self._keys:
                return True
            cut_off = self._clients.get((principal.issuer, principal.client_id))
            return cut_off is not None and principal.issued_at < cut_off[0]


class Verifier:
    """Verifies access tokens locally and decides whether they satisfy a method's rule. Thread-safe."""

    def __init__(self, issuer, keys, algorithms=DEFAULT_ALGORITHMS, clock_tolerance=DEFAULT_CLOCK_TOLERANCE,
                 max_lifetime=DEFAULT_MAX_LIFETIME, max_token_bytes=DEFAULT_MAX_TOKEN_BYTES, revocations=None,
                 fail_open=False, clock=time.time, cache_size=10000):
        if not 0 <= clock_tolerance <= 300 or not 1 <= max_lifetime <= 86400 or not 1024 <= max_token_bytes <= 65536:
            raise ValueError("clock_tolerance, max_lifetime or max_token_bytes out of bounds")
        self.issuer = issuer
        self._keys = keys
        self._algorithms = frozenset(algorithms)
        self._tolerance = clock_tolerance
        self._max_lifetime = max_lifetime
        self._max_token_bytes = max_token_bytes
        self.revocations = revocations
        self._fail_open = fail_open
        self._clock = clock
        self._cache_size = cache_size
        self._cache = {}
        self._lock = threading.Lock()

    def _precheck(self, token):
        """The checks that need no key, before any key lookup: an expired or foreign token causes no fetch."""
        if len(token) > self._max_token_bytes:
            raise errors.invalid_token("the token is larger than accepted")
        parts = token.split(".")
        if len(parts) != 3:
            raise errors.invalid_token("the token is not a JWS compact serialization (three parts)")
        decoded = [_decode_part(p) for p in parts]
        if any(d is None for d in decoded):
            raise errors.invalid_token("the token is not canonical base64url")
        header = _json_object(decoded[0])
        if header is None:
            raise errors.invalid_token("the token's header is not a JSON object")
        for name in header:
            if name in ("alg", "kid", "typ"):
                continue
            if name == "crit":
                raise errors.invalid_token("the token's header carries crit, which we never issue")
            if name in _KEY_MEMBERS:
                raise errors.invalid_token("the token's header carries a key or key reference, which is never trusted")
            raise errors.invalid_token("the token's header has a member we never issue")
        alg, kid, typ = header.get("alg"), header.get("kid"), header.get("typ")
        if not all(isinstance(v, str) for v in (alg, kid, typ)):
            raise errors.invalid_token("the token's header lacks alg, kid or typ as strings")
        if typ != "at+jwt":
            raise errors.invalid_token("the token is not an access token (typ must be at+jwt)")
        payload = _json_object(decoded[1])
        if payload is None:
            raise errors.invalid_token("the token's payload is not a JSON object")
        if alg == "none" or alg.startswith("HS") or alg not in self._algorithms:
            raise errors.invalid_token("the token's signing algorithm is not accepted")
        if kid == "":
            raise errors.invalid_token("the token has no key id")
        if payload.get("iss") != self.issuer or not isinstance(payload.get("iss"), str):
            raise errors.invalid_token("the token was not issued by the expected issuer")
        now = math.floor(self._clock())
        exp, iat, nbf = _number(payload, "exp"), _number(payload, "iat"), _number(payload, "nbf")
        if exp is None or iat is None:
            raise errors.invalid_token("the token lacks exp or iat")
        if exp <= now - self._tolerance:
            raise errors.invalid_token("the token has expired")
        if nbf is not None and nbf > now + self._tolerance:
            raise errors.invalid_token("the token is not valid yet")
        if iat > now + self._tolerance:
            raise errors.invalid_token("the token was issued in the future")
        if exp - iat > self._max_lifetime:
            raise errors.invalid_token("the token's lifetime exceeds the accepted maximum")
        return alg, kid, payload

    def _verify(self, token):
        alg, kid, payload = self._precheck(token)
        key = self._keys.key(kid)
        if key is None:
            raise errors.invalid_token("the token was signed with an unknown key")
        if _algorithm_of_key(key) != alg:
            raise errors.invalid_token("the token's algorithm is not the one of its key")
        try:
            jwt.api_jws.PyJWS().decode_complete(token, key=key, algorithms=[alg])
        except jwt.PyJWTError:
            raise errors.invalid_token("the token's signature is invalid") from None
        return self._principal(payload, kid)

    @staticmethod
    def _principal(payload, kid):
        sub, jti, client_id = payload.get("sub"), payload.get("jti"), payload.get("client_id")
        if not all(isinstance(v, str) for v in (sub, jti, client_id)):
            raise errors.invalid_token("the token lacks sub, jti or client_id")
        aud = payload.get("aud")
        if isinstance(aud, list) and len(aud) == 1 and isinstance(aud[0], str):
            aud = aud[0]
        if not isinstance(aud, str):
            raise errors.invalid_token("the token must have exactly one audience")
        scope = payload.get("scope", "")
        if "scope" in payload and not isinstance(scope, str):
            raise errors.invalid_token("the token's scope claim is malformed")
        return Principal(client_id=client_id, subject=sub, audience=aud, issuer=payload["iss"], jti=jti, kid=kid,
                         scopes=frozenset(s for s in scope.split(" ") if s), issued_at=payload["iat"],
                         expires_at=payload["exp"], claims=payload)

    def _check_revocation(self, principal):
        if self.revocations is None:
            return
        if not self._fail_open and not self.revocations.current():
            raise errors.unavailable("the revocation list is not loaded yet or is stale")
        if self.revocations.denied(principal):
            raise errors.invalid_token("the token has been revoked")

    def authenticate(self, authorization):
        """The principal of a call's authorization values (a list). Raises AuthError."""
        token = bearer_credential(authorization)
        if token is None:
            raise errors.invalid_token("a bearer token is required", token_sent=False)
        with self._lock:
            principal = self._cache.get(token)
        if principal is not None and principal.expires_at <= math.floor(self._clock()) - self._tolerance:
            principal = None
        if principal is None:
            if not _B64TOKEN.match(token):
                raise errors.invalid_token("the bearer token is malformed")
            principal = self._verify(token)
            if self._cache_size > 0:
                with self._lock:
                    if len(self._cache) >= self._cache_size:
                        self._cache.clear()
                    self._cache[token] = principal
        self._check_revocation(principal)
        return principal

    @staticmethod
    def authorize(principal, rule):
        """The audience, then the scopes. Raises AuthError (PERMISSION_DENIED, insufficient_scope)."""
        if principal.audience != rule.audience:
            raise errors.insufficient_scope("the token was not issued for this service", rule)
        if not rule.satisfied_by(principal.scopes):
            raise errors.insufficient_scope("the token lacks the scopes this method requires", rule)

    def check(self, authorization, rule):
        """None for a public or client-authentication rule, the principal when the token satisfies the rule."""
        if rule.kind != "bearer":
            return None
        principal = self.authenticate(authorization)
        self.authorize(principal, rule)
        return principal

    def still_valid(self, principal):
        return principal.expires_at + self._tolerance > self._clock() and not (self.revocations and self.revocations.denied(principal))
