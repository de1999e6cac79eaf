"""The Python conformance runner: serves tessera.conformance.v1 with the Python SDK's interceptor, as
test/e2e/conformance.test.ts drives it.

    runner.py --issuer URL --token-service HOST:PORT --guard ConformanceService[,...] [--revocations ...]

Prints "LISTENING host:port" once serving, or "RULE_ERROR m1,m2" and exits 3 when the interceptor refuses the rules.
"""

import argparse
import sys
import threading
from concurrent import futures

import grpc

import tessera_grpc
from conformance.v1 import conformance_pb2, conformance_pb2_grpc
from health.v1 import health_pb2, health_pb2_grpc  # proto/grpc/health/v1, generated from proto/grpc (grpc.* is grpcio's)
from tessera.v1 import token_service_pb2, token_service_pb2_grpc


def echo(context):
    caller = tessera_grpc.principal(context)
    if caller is None:
        return conformance_pb2.CallResponse()
    return conformance_pb2.CallResponse(client_id=caller.client_id, subject=caller.subject,
                                        scopes=sorted(caller.scopes), audience=caller.audience,
                                        jti=caller.jti)


class Conformance(conformance_pb2_grpc.ConformanceServiceServicer):
    def AllOf(self, request, context): return echo(context)
    def AnyOf(self, request, context): return echo(context)
    def OnlyAnyOf(self, request, context): return echo(context)
    def ServiceDefault(self, request, context): return echo(context)
    def Public(self, request, context): return echo(context)
    def ClientAuth(self, request, context): return echo(context)
    def OtherAudience(self, request, context): return echo(context)
    def AnyToken(self, request, context): return echo(context)

    def Watch(self, request, context):
        yield echo(context)

    def Follow(self, request, context):
        yield echo(context)
        ended = threading.Event()
        context.add_callback(ended.set)
        ended.wait(15)


class Health(health_pb2_grpc.HealthServicer):
    """An empty HealthCheckResponse: allow-listed, it needs no rule and no token."""

    def Check(self, request, context): return health_pb2.HealthCheckResponse()


class Unprotected(conformance_pb2_grpc.UnprotectedServiceServicer):
    def Open(self, request, context): return echo(context)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--token-service", required=True)
    parser.add_argument("--guard", default="ConformanceService")
    parser.add_argument("--revocations", action="store_true")
    parser.add_argument("--stale-after-ms", type=int, default=0, help="with --revocations: the staleness bound (default 30 s)")
    parser.add_argument("--client-id", default="")
    parser.add_argument("--client-secret", default="")
    args = parser.parse_args()

    services = [conformance_pb2.DESCRIPTOR.services_by_name[name] for name in args.guard.split(",")]
    channel = grpc.insecure_channel(args.token_service)  # loopback only, as the test runs it
    tokens = token_service_pb2_grpc.TokenServiceStub(channel)
    keys = tessera_grpc.KeySet(lambda: tokens.GetJwks(token_service_pb2.GetJwksRequest(), timeout=5).jwks_json)
    revocations = None
    if args.revocations:
        revocations = tessera_grpc.Revocations(**({"stale_after": args.stale_after_ms / 1000} if args.stale_after_ms else {}))
        credentials = tessera_grpc.client_secret(args.client_id, args.client_secret)
        for target in (tessera_grpc.watch_revocations, tessera_grpc.watch_keys):
            threading.Thread(target=target, args=(channel, credentials, revocations if target is tessera_grpc.watch_revocations else keys),
                             daemon=True).start()
        if not revocations.wait_loaded(10):
            sys.exit("revocations not loaded")
    verifier = tessera_grpc.Verifier(args.issuer, keys, revocations=revocations)
    try:
        interceptor = tessera_grpc.AuthServerInterceptor(verifier, services)
    except tessera_grpc.RuleError as err:
        print("RULE_ERROR " + ",".join(err.methods), flush=True)
        sys.exit(3)
    # grpcio refuses metadata over 8 KiB before any interceptor (RESOURCE_EXHAUSTED): let oversized tokens reach it.
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), interceptors=[interceptor],
                         options=[("grpc.max_metadata_size", 64 * 1024)])
    conformance_pb2_grpc.add_ConformanceServiceServicer_to_server(Conformance(), server)
    conformance_pb2_grpc.add_UnprotectedServiceServicer_to_server(Unprotected(), server)
    health_pb2_grpc.add_HealthServicer_to_server(Health(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"LISTENING 127.0.0.1:{port}", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
