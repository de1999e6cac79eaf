"""Python SDK verification cost, one run: PyJWT's signature check alone (the floor), a first sight through
tessera_grpc.Verifier (every check and the signature), and a cached token. Prints JSON (µs per call)."""

import json
import sys
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

import tessera_grpc

COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 2000


def per_call_us(work):
    for _ in range(50):
        work()
    start = time.perf_counter()
    for _ in range(COUNT):
        work()
    return (time.perf_counter() - start) / COUNT * 1e6


key = ec.generate_private_key(ec.SECP256R1())
now = int(time.time())
token = jwt.encode({"iss": "https://tessera.test", "sub": "c", "aud": "svc", "exp": now + 300, "iat": now, "jti": "j",
                    "client_id": "c", "scope": "a b"}, key, algorithm="ES256", headers={"kid": "k1", "typ": "at+jwt"})
jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
jwks = json.dumps({"keys": [dict(jwk, kid="k1", alg="ES256", use="sig")]})
keys = tessera_grpc.KeySet(lambda: jwks)
public_key = keys.key("k1")
authorization = ["Bearer " + token]
first_sight = tessera_grpc.Verifier("https://tessera.test", keys, cache_size=0)
cached = tessera_grpc.Verifier("https://tessera.test", keys)
print(json.dumps({
    "rawVerifyUs": per_call_us(lambda: jwt.api_jws.PyJWS().decode_complete(token, key=public_key, algorithms=["ES256"])),
    "firstSightUs": per_call_us(lambda: first_sight.authenticate(authorization)),
    "cachedUs": per_call_us(lambda: cached.authenticate(authorization)),
}))
