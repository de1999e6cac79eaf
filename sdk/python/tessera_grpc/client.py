"""The client side: least-privilege tokens from Tessera, cached, attached to calls."""

import threading
import time

import grpc

from tessera.v1 import token_service_pb2, token_service_pb2_grpc

from .errors import auth_error_detail
from .rules import rule_of


class TokenSource:
    """Tokens from TokenService/IssueToken, one cached per (audience, scopes): reused until shortly before they
    expire, refreshed once 75% of their lifetime has passed, fetched once for concurrent callers (single-flight).
    credentials: a callable returning tessera.v1.ClientCredentials (client_secret, private_key_jwt)."""

    def __init__(self, channel, credentials, clock=time.monotonic):
        self._stub = token_service_pb2_grpc.TokenServiceStub(channel)
        self._credentials = credentials
        self._clock = clock
        self._lock = threading.Lock()
        self._entries = {}
        self.fetches = 0

    @staticmethod
    def _key(audience, scopes):
        return audience, tuple(sorted(set(scopes)))

    def token(self, audience, scopes):
        key = self._key(audience, scopes)
        with self._lock:
            entry = self._entries.setdefault(key, {"token": None, "usable_until": 0, "refresh_from": 0, "flight": None})
            now = self._clock()
            if entry["token"] and now < entry["usable_until"]:
                if now >= entry["refresh_from"] and entry["flight"] is None:
                    self._start(entry, audience, list(scopes), background=True)
                return entry["token"]
            flight = entry["flight"] or self._start(entry, audience, list(scopes))
        flight.wait(15)
        with self._lock:
            if entry["token"] and self._clock() < entry["usable_until"]:
                return entry["token"]
            raise entry.get("error") or RuntimeError("no token from the token service")

    def invalidate(self, audience, scopes, token):
        """Drops a token a resource server refused with invalid_token."""
        with self._lock:
            entry = self._entries.get(self._key(audience, scopes))
            if entry and entry["token"] == token:
                entry["token"] = None

    def _start(self, entry, audience, scopes, background=False):
        flight = threading.Event()
        entry["flight"] = flight
        self.fetches += 1

        def fetch():
            try:
                res = self._stub.IssueToken(token_service_pb2.IssueTokenRequest(
                    client=self._credentials(), audience=audience, scopes=scopes), timeout=10)
                received, lifetime = self._clock(), res.expires_in
                with self._lock:
                    entry.update(token=res.access_token, usable_until=received + lifetime - min(10, lifetime / 10),
                                 refresh_from=received + lifetime * 0.75, error=None)
            except grpc.RpcError as err:
                with self._lock:
                    entry["error"] = err
            finally:
                with self._lock:
                    entry["flight"] = None
                flight.set()

        threading.Thread(target=fetch, daemon=True).start()
        return flight


def _method_rule(pool, path):
    """The rule of a called path ("/pkg.Service/Method") from the descriptor pool; None for no token."""
    _, service_name, method_name = path.split("/")
    method = pool.FindServiceByName(service_name).methods_by_name[method_name]
    rule = rule_of(method)
    if rule is None:
        raise ValueError(f"no auth rule declared for {path}")
    return rule if rule.kind == "bearer" else None


class BearerTokenPlugin(grpc.AuthMetadataPlugin):
    """Call credentials: the least-privilege token of the called method. Use with
    grpc.metadata_call_credentials on a secure (TLS or local) channel; grpc never sends them in plaintext."""

    def __init__(self, tokens, pool=None):
        from google.protobuf import descriptor_pool
        self._tokens = tokens
        self._pool = pool or descriptor_pool.Default()

    def __call__(self, context, callback):
        try:
            service = context.service_url.rsplit("/", 1)[-1]
            rule = _method_rule(self._pool, f"/{service}/{context.method_name}")
            metadata = () if rule is None else (
                ("authorization", "Bearer " + self._tokens.token(rule.audience, rule.least_privilege_scopes())),)
            callback(metadata, None)
        except Exception as err:  # noqa: BLE001 - reported to grpc, which fails the call
            callback((), err)


class _Details(grpc.ClientCallDetails):
    def __init__(self, details, metadata):
        self.method = details.method
        self.timeout = details.timeout
        self.metadata = metadata
        self.credentials = details.credentials
        self.wait_for_ready = getattr(details, "wait_for_ready", None)
        self.compression = getattr(details, "compression", None)


class BearerTokenInterceptor(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """A client interceptor (grpc.intercept_channel) attaching the called method's least-privilege token, and
    retrying a unary call once with a fresh token after invalid_token."""

    def __init__(self, tokens, pool=None):
        from google.protobuf import descriptor_pool
        self._tokens = tokens
        self._pool = pool or descriptor_pool.Default()

    def _with_token(self, details):
        rule = _method_rule(self._pool, details.method)
        if rule is None:
            return details, None, None
        token = self._tokens.token(rule.audience, rule.least_privilege_scopes())
        metadata = list(details.metadata or ()) + [("authorization", "Bearer " + token)]
        return _Details(details, metadata), rule, token

    def intercept_unary_unary(self, continuation, client_call_details, request):
        details, rule, token = self._with_token(client_call_details)
        outcome = continuation(details, request)
        if token is None or outcome.code() != grpc.StatusCode.UNAUTHENTICATED:
            return outcome
        detail = auth_error_detail(outcome)
        if detail is None or detail.error != "invalid_token":
            return outcome
        self._tokens.invalidate(rule.audience, rule.least_privilege_scopes(), token)
        details, _, _ = self._with_token(client_call_details)
        return continuation(details, request)

    def intercept_unary_stream(self, continuation, client_call_details, request):
        details, _, _ = self._with_token(client_call_details)
        return continuation(details, request)
