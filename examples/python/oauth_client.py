"""Tessera from Python over OAuth 2.0: authlib gets a token with the
client_credentials grant and private_key_jwt client authentication (no shared
secret), PyJWT verifies it against Tessera's JWKS, and the token calls
CalendarService (served by connect-node) over gRPC.

  PYTHONPATH=/tmp/tessera-py TESSERA=http://127.0.0.1:8080 CALENDAR=127.0.0.1:50051 \\
    CLIENT_ID=reporter KEY_FILE=reporter-key.pem KEY_ID=... /usr/bin/python3 examples/python/oauth_client.py
"""
import os
import socket

import grpc
import jwt
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from example.calendar.v1 import calendar_pb2, calendar_pb2_grpc

socket.setdefaulttimeout(5)  # PyJWKClient fetches the JWKS with urllib, which has no timeout of its own
ISSUER = os.environ["TESSERA"]  # Tessera's issuer identifier: the aud of assertions, the iss of tokens
AUDIENCE = "example.calendar.v1.CalendarService"


# [START authlib]
class TesseraPrivateKeyJWT(PrivateKeyJWT):
    """private_key_jwt as Tessera checks it: aud is the issuer identifier (authlib's default is the
    token endpoint URL), the assertion lives 60 s (authlib's default is 1 h, Tessera takes at most
    5 min) and names its key."""

    def __init__(self, kid):
        super().__init__(token_endpoint=ISSUER, alg="ES256")  # token_endpoint: what authlib puts in aud
        self.kid = kid

    def sign(self, auth, token_endpoint):
        return private_key_jwt_sign(auth.client_secret, client_id=auth.client_id, token_endpoint=token_endpoint,
                                    alg=self.alg, header={"kid": self.kid}, expires_in=60)


def fetch_token():
    with open(os.environ["KEY_FILE"]) as key_file:
        private_key = key_file.read()
    session = OAuth2Session(os.environ["CLIENT_ID"], private_key, token_endpoint_auth_method="private_key_jwt",
                            scope="event.view")
    session.register_client_auth_method(TesseraPrivateKeyJWT(os.environ["KEY_ID"]))
    return session.fetch_token(f"{ISSUER}/oauth2/token", grant_type="client_credentials", audience=AUDIENCE,
                               timeout=5)
# [END authlib]


# [START pyjwt]
JWKS = jwt.PyJWKClient(f"{ISSUER}/.well-known/jwks.json")  # the key set is cached 5 min, refetched on an unknown kid


def verify(access_token):
    """RFC 9068 checks with PyJWT: a signature by a key of Tessera's JWKS, typ at+jwt, iss, aud, exp."""
    key = JWKS.get_signing_key_from_jwt(access_token)
    claims = jwt.decode(access_token, key.key, algorithms=["ES256"],  # Tessera's signing.algorithm
                        audience=AUDIENCE, issuer=ISSUER, options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]})
    if jwt.get_unverified_header(access_token).get("typ") not in ("at+jwt", "application/at+jwt"):
        raise jwt.InvalidTokenError("not an RFC 9068 access token")  # the header was verified with the signature
    return claims
# [END pyjwt]


def main():
    token = fetch_token()
    print(f"token endpoint: {token['token_type']} token, scope {token['scope']}, expires in {token['expires_in']} s")
    claims = verify(token["access_token"])
    print(f"verified: typ at+jwt, iss {claims['iss']}, aud {claims['aud']}, client_id {claims['client_id']}, scope {claims['scope']}")
    with grpc.insecure_channel(os.environ["CALENDAR"]) as channel:
        calendar = calendar_pb2_grpc.CalendarServiceStub(channel)
        response = calendar.ListEvents(calendar_pb2.ListEventsRequest(), timeout=5,
                                       metadata=[("authorization", f"Bearer {token['access_token']}")])
        print(f"CalendarService/ListEvents: allowed, {len(response.events)} event(s)")


if __name__ == "__main__":
    main()
