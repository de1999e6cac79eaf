"""The Reports service of the example mesh, in Python: grpcio protected by Tessera's Python SDK
(sdk/python) with the scopes reports.proto declares, and calling the Node FilesService with its own
least-privilege tokens. examples/mesh/polyglot.ts generates its code and starts it:

    PYTHONPATH=GENERATED:sdk/python TESSERA_GRPC=127.0.0.1:9090 TESSERA_ISSUER=http://127.0.0.1:8080 \\
    FILES=127.0.0.1:50052 CLIENT_ID=reports CLIENT_SECRET=... /usr/bin/python3 examples/mesh/reports/reports_service.py

It prints "LISTENING host:port" once serving, and exits when its stdin closes.
"""
import itertools
import os
import sys
import threading
from concurrent import futures

import grpc

import tessera_grpc
from example.files.v1 import files_pb2, files_pb2_grpc
from example.reports.v1 import reports_pb2, reports_pb2_grpc
from tessera.v1 import token_service_pb2, token_service_pb2_grpc


class Reports(reports_pb2_grpc.ReportsServiceServicer):
    def __init__(self, files):
        self._files = files
        self._ids = itertools.count(1)

    def SummarizeFile(self, request, context):
        """Reads the file from Files with Reports' own token (the interceptor attaches it), never its caller's."""
        caller = tessera_grpc.principal(context)  # the interceptor put it there: a verified token with report.create
        try:
            file = self._files.GetFile(files_pb2.GetFileRequest(id=request.file_id), timeout=5).file
        except grpc.RpcError as err:
            # The same code, without Files' AuthErrorDetail: the refusal was Reports', not its caller's.
            context.abort(err.code(), f"files: {err.details()}")
        return reports_pb2.SummarizeFileResponse(report=reports_pb2.Report(
            id=f"rep-{next(self._ids)}", file_name=file.name, bytes=len(file.content),
            lines=file.content.count(b"\n"), requested_by=caller.client_id))

    def DeleteReport(self, request, context):
        return reports_pb2.DeleteReportResponse()


def main():
    # [START protect]
    # Keys and revocations pushed by Tessera's streams, to this service as its own client.
    channel = grpc.insecure_channel(os.environ["TESSERA_GRPC"])  # loopback; TLS elsewhere
    credentials = tessera_grpc.client_secret(os.environ["CLIENT_ID"], os.environ["CLIENT_SECRET"])
    tokens = token_service_pb2_grpc.TokenServiceStub(channel)
    keys = tessera_grpc.KeySet(lambda: tokens.GetJwks(token_service_pb2.GetJwksRequest(), timeout=5).jwks_json)
    revocations = tessera_grpc.Revocations()
    threading.Thread(target=tessera_grpc.watch_revocations, args=(channel, credentials, revocations), daemon=True).start()
    threading.Thread(target=tessera_grpc.watch_keys, args=(channel, credentials, keys), daemon=True).start()
    revocations.wait_loaded(10)  # until loaded, the verifier answers UNAVAILABLE
    verifier = tessera_grpc.Verifier(os.environ["TESSERA_ISSUER"], keys, revocations=revocations)
    # Each method's rule, from the descriptors; a method without one: RuleError, never open.
    interceptor = tessera_grpc.AuthServerInterceptor(verifier, [reports_pb2.DESCRIPTOR.services_by_name["ReportsService"]])
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), interceptors=[interceptor])
    # [END protect]

    # [START call]
    # Reports' own tokens, with the scopes of each called method's rule.
    files = files_pb2_grpc.FilesServiceStub(grpc.intercept_channel(
        grpc.insecure_channel(os.environ["FILES"]),
        tessera_grpc.BearerTokenInterceptor(tessera_grpc.TokenSource(channel, credentials))))
    # [END call]

    reports_pb2_grpc.add_ReportsServiceServicer_to_server(Reports(files), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"LISTENING 127.0.0.1:{port}", flush=True)
    sys.stdin.read()  # the mesh that started it is gone: stop
    server.stop(0)

if __name__ == "__main__":
    main()
