"""Auth rules read from tessera.v1.method_auth / service_auth in the generated descriptors."""

import re
from dataclasses import dataclass, field

from tessera.v1 import options_pb2

# Public without a declared rule: health checks and reflection.
PUBLIC_SERVICES = frozenset({
    "grpc.health.v1.Health",
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
})

_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5B\x5D-\x7E]+$")  # RFC 6749 section 3.3


class RuleError(Exception):
    """A method without a rule, or with a contradictory one: the server must not start."""

    def __init__(self, methods, problem):
        super().__init__(f"{problem}: {', '.join(methods)}")
        self.methods = list(methods)


@dataclass(frozen=True)
class Rule:
    """The auth rule of one RPC. kind is "public", "client_authentication" or "bearer"."""

    kind: str
    source: str
    audience: str = ""
    all_of: tuple = ()
    any_of: tuple = field(default=())

    def satisfied_by(self, granted):
        """Whether granted scopes satisfy a bearer rule (exact match)."""
        if not all(s in granted for s in self.all_of):
            return False
        return not self.any_of or any(all(s in granted for s in alt) for alt in self.any_of)

    def least_privilege_scopes(self):
        """Every all-of scope plus the first any-of alternative."""
        return _unique(list(self.all_of) + (list(self.any_of[0]) if self.any_of else []))


PUBLIC_ALLOW_LIST_RULE = Rule(kind="public", source="allow-list")


def _unique(values):
    return tuple(dict.fromkeys(values))


def _path(method):
    return f"/{method.containing_service.full_name}/{method.name}"


def _resolve(method, rule, source):
    name = _path(method)
    bearer_parts = bool(rule.scopes) or bool(rule.any_of) or rule.audience != ""
    if rule.public and rule.client_authentication:
        raise RuleError([name], "a rule cannot be both public and client_authentication")
    if (rule.public or rule.client_authentication) and bearer_parts:
        raise RuleError([name], "a public or client_authentication rule cannot name scopes or an audience")
    if rule.public:
        return Rule(kind="public", source=source)
    if rule.client_authentication:
        return Rule(kind="client_authentication", source=source)
    scopes = list(rule.scopes) + [s for alt in rule.any_of for s in alt.scopes]
    if any(not _SCOPE_TOKEN.match(s) for s in scopes):
        raise RuleError([name], "a scope in the rule is not a valid scope token")
    if any(len(alt.scopes) == 0 for alt in rule.any_of):
        raise RuleError([name], "an any_of alternative is empty")
    return Rule(kind="bearer", source=source, audience=rule.audience or method.containing_service.full_name,
                all_of=_unique(rule.scopes), any_of=tuple(_unique(alt.scopes) for alt in rule.any_of))


def rule_of(method):
    """The rule of a MethodDescriptor: its method_auth, else its service's service_auth, else the allow-list; None when none applies."""
    options = method.GetOptions()
    if options.HasExtension(options_pb2.method_auth):
        return _resolve(method, options.Extensions[options_pb2.method_auth], "method")
    service = method.containing_service
    service_options = service.GetOptions()
    if service_options.HasExtension(options_pb2.service_auth):
        return _resolve(method, service_options.Extensions[options_pb2.service_auth], "service")
    if service.full_name in PUBLIC_SERVICES:
        return PUBLIC_ALLOW_LIST_RULE
    return None


def rules_of(services):
    """{"/pkg.Service/Method": Rule} for ServiceDescriptors; raises RuleError naming every method without a rule."""
    rules, missing = {}, []
    for service in services:
        for method in service.methods:
            rule = rule_of(method)
            if rule is None:
                missing.append(_path(method))
            else:
                rules[_path(method)] = rule
    if missing:
        raise RuleError(sorted(missing), "no auth rule declared (add option (tessera.v1.method_auth) or (tessera.v1.service_auth))")
    return rules
