"""How this service authenticates to Tessera as an OAuth client: client_secret or private_key_jwt."""

import secrets
import time

import jwt

from tessera.v1 import token_service_pb2

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def client_secret(client_id, secret):
    """client_secret_post: the id and secret travel in the request. A callable returning ClientCredentials."""
    return lambda: token_service_pb2.ClientCredentials(client_id=client_id, client_secret=secret)


def private_key_jwt(client_id, issuer, private_key, kid, algorithm="ES256"):
    """private_key_jwt (RFC 7523): a fresh assertion per request, signed with PyJWT (iss = sub = client id,
    aud = the issuer identifier, 60 s lifetime, single-use jti)."""

    def credentials():
        now = int(time.time())
        assertion = jwt.encode({"iss": client_id, "sub": client_id, "aud": issuer, "iat": now, "exp": now + 60,
                                "jti": secrets.token_hex(16)}, private_key, algorithm=algorithm, headers={"kid": kid})
        return token_service_pb2.ClientCredentials(client_id=client_id, client_assertion_type=ASSERTION_TYPE,
                                                   client_assertion=assertion)

    return credentials
