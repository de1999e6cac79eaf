"""Tessera for grpcio: enforce the scopes declared in the proto, and call with least-privilege tokens."""

from .errors import AuthError, auth_error_detail
from .rules import Rule, RuleError, rule_of, rules_of
from .server import AuthServerInterceptor, principal
from .verifier import KeySet, Principal, Revocations, Verifier
from .client import BearerTokenInterceptor, BearerTokenPlugin, TokenSource
from .credentials import client_secret, private_key_jwt
from .watch import watch_keys, watch_revocations

__all__ = [
    "AuthError", "AuthServerInterceptor", "BearerTokenInterceptor", "BearerTokenPlugin", "TokenSource", "KeySet", "Principal", "Revocations", "Rule", "RuleError", "Verifier",
    "auth_error_detail", "client_secret", "principal", "private_key_jwt", "rule_of", "rules_of", "watch_keys",
    "watch_revocations",
]
