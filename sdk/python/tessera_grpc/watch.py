"""Followers of TokenService/WatchRevocations and WatchKeys: run each in a daemon thread."""

import threading

from tessera.v1 import token_service_pb2, token_service_pb2_grpc

DEFAULT_HEARTBEAT_MS = 10000


def _delay(attempt):
    return min(0.1 * 2 ** attempt, 5.0)


def _follow(open_stream, on_message, stop):
    """Reopens the stream until stop is set; a stream silent for twice its heartbeat is cancelled and reopened."""
    attempt = 0
    while not stop.is_set():
        stream = open_stream()
        heartbeat = [DEFAULT_HEARTBEAT_MS]
        heard = threading.Event()
        done = threading.Event()

        def watchdog():
            while not done.is_set():
                if not heard.wait(2 * heartbeat[0] / 1000) and not done.is_set():
                    stream.cancel()
                    return
                heard.clear()

        threading.Thread(target=watchdog, daemon=True).start()
        try:
            for message in stream:
                attempt = 0
                heartbeat[0] = message.heartbeat_interval_ms or heartbeat[0]
                heard.set()
                on_message(message)
                if stop.is_set():
                    stream.cancel()
        except Exception:  # noqa: BLE001 - a broken stream is reopened
            pass
        finally:
            done.set()
            heard.set()
        stop.wait(_delay(attempt))
        attempt += 1


def watch_revocations(channel, credentials, revocations, stop=None):
    """Applies WatchRevocations to a Revocations set until stop (a threading.Event) is set, resuming from the
    last cursor. credentials: a callable returning tessera.v1.ClientCredentials (client_secret, private_key_jwt)."""
    stub = token_service_pb2_grpc.TokenServiceStub(channel)
    cursor = [""]

    def on_message(message):
        if message.reset:
            revocations.reset()
        for revocation in message.revocations:
            kind = revocation.WhichOneof("kind")
            if kind == "token":
                revocations.revoke_token(revocation.token.issuer, revocation.token.jti, revocation.token.expires_at)
            elif kind == "key":
                revocations.revoke_key(revocation.key.issuer, revocation.key.kid, revocation.key.expires_at)
            elif kind == "client":
                revocations.cut_off_client(revocation.client.issuer, revocation.client.client_id,
                                           revocation.client.issued_before, revocation.client.expires_at)
        if message.cursor:
            cursor[0] = message.cursor
        if message.synced:
            revocations.synced()

    _follow(lambda: stub.WatchRevocations(token_service_pb2.WatchRevocationsRequest(client=credentials(), cursor=cursor[0])),
            on_message, stop or threading.Event())


def watch_keys(channel, credentials, keys, stop=None):
    """Installs every key set WatchKeys pushes into a KeySet until stop is set."""
    stub = token_service_pb2_grpc.TokenServiceStub(channel)
    _follow(lambda: stub.WatchKeys(token_service_pb2.WatchKeysRequest(client=credentials())),
            lambda message: keys.replace(message.jwks.jwks_json, message.revoked_kids), stop or threading.Event())
