"""grpcio server interceptor enforcing the rules declared in the proto."""

import queue
import threading
import weakref

import grpc

from . import errors
from .rules import PUBLIC_ALLOW_LIST_RULE, PUBLIC_SERVICES, rules_of

_principals = weakref.WeakKeyDictionary()
_principals_lock = threading.Lock()


def principal(context):
    """The verified caller of a handler (its grpc.ServicerContext); None in public methods."""
    with _principals_lock:
        return _principals.get(context)


def _authorization(context):
    return [value for key, value in context.invocation_metadata() or () if key == "authorization"]


class AuthServerInterceptor(grpc.ServerInterceptor):
    """Enforces each method's rule: no or bad token -> UNAUTHENTICATED; a valid token without the audience or
    scopes -> PERMISSION_DENIED with the required scopes in a tessera.v1.AuthErrorDetail (grpc-status-details-bin)
    and a www-authenticate trailer; two authorization entries -> INVALID_ARGUMENT; a path without a rule ->
    PERMISSION_DENIED. Building it raises RuleError for any method without a rule: the server must not start.
    Streams that return a response iterator end with UNAUTHENTICATED once their token expires or is revoked."""

    def __init__(self, verifier, services):
        self._verifier = verifier
        self._rules = rules_of(services)

    def rule(self, path):
        rule = self._rules.get(path)
        if rule is None and path.split("/")[1:2] and path.split("/")[1] in PUBLIC_SERVICES:
            return PUBLIC_ALLOW_LIST_RULE
        return rule

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        rule = self.rule(handler_call_details.method)
        kind = ("stream" if handler.request_streaming else "unary") + "_" + ("stream" if handler.response_streaming else "unary")
        behavior = getattr(handler, kind)
        guarded = self._guard(rule, behavior, handler.response_streaming)
        return handler._replace(**{kind: guarded})

    def _admit(self, rule, context):
        if rule is None:
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "no auth rule is declared for this method")
        try:
            caller = self._verifier.check(_authorization(context), rule)
        except errors.AuthError as err:
            context.abort_with_status(_Status(err))
        if caller is not None:
            with _principals_lock:
                _principals[context] = caller
        return caller

    def _guard(self, rule, behavior, response_streaming):
        verifier = self._verifier

        if not response_streaming:
            def unary_response(request, context):
                self._admit(rule, context)
                return behavior(request, context)

            return unary_response

        def streamed_response(request, context):
            caller = self._admit(rule, context)
            if caller is None:
                yield from behavior(request, context)
                return
            # The handler runs in a thread of its own, so that an idle stream is ended too once its token expires
            # or is revoked (checked every STREAM_CHECK_SECONDS).
            items = queue.Queue(maxsize=1)

            def produce():
                try:
                    for response in behavior(request, context):
                        while not _put(items, ("item", response), context):
                            if not context.is_active():
                                return
                    _put(items, ("end", None), context)
                except Exception as err:  # noqa: BLE001 - re-raised in the serving thread
                    _put(items, ("error", err), context)

            threading.Thread(target=produce, daemon=True).start()
            while True:
                try:
                    kind, value = items.get(timeout=STREAM_CHECK_SECONDS)
                except queue.Empty:
                    kind, value = "idle", None
                if not verifier.still_valid(caller):
                    context.abort_with_status(_Status(errors.invalid_token("the token expired or was revoked during the stream")))
                if kind == "item":
                    yield value
                elif kind == "end":
                    return
                elif kind == "error":
                    raise value

        return streamed_response


STREAM_CHECK_SECONDS = 0.25


def _put(items, item, context):
    """Queues an item for the serving thread; False while the queue stays full (the call may have ended)."""
    try:
        items.put(item, timeout=STREAM_CHECK_SECONDS)
        return True
    except queue.Full:
        return not context.is_active()


class _Status(grpc.Status):
    def __init__(self, err):
        self.code = err.code
        self.details = err.description
        self.trailing_metadata = err.trailing_metadata()
