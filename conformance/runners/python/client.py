"""The Python client runner: calls a conformance server with the SDK's client side, one command per stdin line
("METHOD", "PARALLEL METHOD N" or "PLUGIN METHOD"), printing one JSON result per line.

    client.py --call HOST:PORT --token-service HOST:PORT --client-id ID (--client-secret S | --issuer URL --key-file PEM --key-id KID)
"""

import argparse
import json
import sys
from concurrent import futures

import grpc

import tessera_grpc
from conformance.v1 import conformance_pb2, conformance_pb2_grpc


def call(stub, method):
    request = conformance_pb2.CallRequest(text="hi")
    try:
        if method == "Watch":
            response = next(iter(stub.Watch(request, timeout=10)))
        else:
            response = getattr(stub, method)(request, timeout=10)
    except grpc.RpcError as err:
        detail = tessera_grpc.auth_error_detail(err)
        return {"method": method, "code": err.code().name, "error": detail.error if detail else ""}
    return {"method": method, "code": "OK", "clientId": response.client_id, "scopes": sorted(response.scopes),
            "jti": response.jti}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--call", required=True)
    parser.add_argument("--token-service", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", default="")
    parser.add_argument("--issuer", default="")
    parser.add_argument("--key-file", help="private_key_jwt with this PEM key instead of the secret")
    parser.add_argument("--key-id", default="")
    args = parser.parse_args()

    credentials = tessera_grpc.client_secret(args.client_id, args.client_secret)
    if args.key_file:
        with open(args.key_file, encoding="ascii") as key_file:
            credentials = tessera_grpc.private_key_jwt(args.client_id, args.issuer, key_file.read(), args.key_id)
    tokens = tessera_grpc.TokenSource(grpc.insecure_channel(args.token_service), credentials)
    intercepted = conformance_pb2_grpc.ConformanceServiceStub(
        grpc.intercept_channel(grpc.insecure_channel(args.call), tessera_grpc.BearerTokenInterceptor(tokens)))
    credentials = grpc.composite_channel_credentials(
        grpc.local_channel_credentials(grpc.LocalConnectionType.LOCAL_TCP),
        grpc.metadata_call_credentials(tessera_grpc.BearerTokenPlugin(tokens)))
    plugin = conformance_pb2_grpc.ConformanceServiceStub(grpc.secure_channel(args.call, credentials))
    with futures.ThreadPoolExecutor(max_workers=32) as pool:
        for line in sys.stdin:
            fields = line.split()
            if not fields:
                continue
            stub, method, parallel = intercepted, fields[0], 1
            if fields[0] == "PARALLEL":
                method, parallel = fields[1], int(fields[2])
            elif fields[0] == "PLUGIN":
                stub, method = plugin, fields[1]
            results = list(pool.map(lambda _: call(stub, method), range(parallel)))
            result = next((r for r in results if r["code"] != "OK"), results[0])
            result.update(fetches=tokens.fetches, calls=parallel)
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
