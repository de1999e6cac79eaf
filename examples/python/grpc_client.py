"""Tessera from Python over gRPC, with code generated from our protos.

Reads what a method requires from its proto option, gets exactly that token
from tessera.v1.TokenService/IssueToken, calls FilesService with it, and sees
PERMISSION_DENIED, with the required scopes, for a method it lacks a scope for.

  examples/python/generate.sh /tmp/tessera-py
  PYTHONPATH=/tmp/tessera-py GRPC=127.0.0.1:9090 FILES=127.0.0.1:50052 \\
    CLIENT_ID=auditor CLIENT_SECRET=... /usr/bin/python3 examples/python/grpc_client.py
"""
import base64
import os
from urllib.parse import quote_plus

import grpc
from example.files.v1 import files_pb2, files_pb2_grpc
from google.rpc import status_pb2
from tessera.v1 import options_pb2, token_service_pb2, token_service_pb2_grpc

TIMEOUT = 5  # seconds, for every call
FILES = files_pb2.DESCRIPTOR.services_by_name["FilesService"]


# [START auth_rule]
def auth_rule(service, method_name):
    """(audience, least scopes) of a method: its tessera.v1.method_auth, else the service's default."""
    options = service.methods_by_name[method_name].GetOptions()
    if options.HasExtension(options_pb2.method_auth):
        rule = options.Extensions[options_pb2.method_auth]
    else:
        rule = service.GetOptions().Extensions[options_pb2.service_auth]
    scopes = list(rule.scopes) + (list(rule.any_of[0].scopes) if rule.any_of else [])
    return rule.audience or service.full_name, scopes
# [END auth_rule]


# [START issue_token]
def issue_token(channel, client_id, secret, audience, scopes):
    """A token from TokenService/IssueToken, the client authenticated by an authorization: Basic header."""
    basic = base64.b64encode(f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()).decode()
    stub = token_service_pb2_grpc.TokenServiceStub(channel)
    request = token_service_pb2.IssueTokenRequest(audience=audience, scopes=scopes)
    return stub.IssueToken(request, metadata=[("authorization", f"Basic {basic}")], timeout=TIMEOUT)
# [END issue_token]


# [START bearer]
class BearerToken(grpc.AuthMetadataPlugin):
    """Call credentials: authorization: Bearer on every call of the channel."""

    def __init__(self, token):
        self._token = token

    def __call__(self, context, callback):
        callback((("authorization", f"Bearer {self._token}"),), None)


def bearer_channel(address, token):
    """Local credentials: plaintext, to a loopback peer only, and grpc sends call credentials on them."""
    credentials = grpc.composite_channel_credentials(
        grpc.local_channel_credentials(grpc.LocalConnectionType.LOCAL_TCP),
        grpc.metadata_call_credentials(BearerToken(token)),
    )
    return grpc.secure_channel(address, credentials)


def auth_error_detail(error):
    """The tessera.v1.AuthErrorDetail of a failed call (google.rpc.Status in grpc-status-details-bin)."""
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            for any_detail in status_pb2.Status.FromString(value).details:
                detail = token_service_pb2.AuthErrorDetail()
                if any_detail.Unpack(detail):
                    return detail
    return None
# [END bearer]


def main():
    for name in ("GetFile", "DeleteFile"):
        audience, scopes = auth_rule(FILES, name)
        print(f"FilesService/{name} requires {' '.join(scopes)} for {audience}")

    audience, scopes = auth_rule(FILES, "GetFile")
    with grpc.insecure_channel(os.environ["GRPC"]) as channel:
        issued = issue_token(channel, os.environ["CLIENT_ID"], os.environ["CLIENT_SECRET"], audience, scopes)
    print(f"IssueToken: {issued.token_type} token for {issued.audience}, scopes {' '.join(issued.scopes)}")

    with bearer_channel(os.environ["FILES"], issued.access_token) as channel:
        files = files_pb2_grpc.FilesServiceStub(channel)
        response = files.GetFile(files_pb2.GetFileRequest(id="file-1"), timeout=TIMEOUT)
        print(f"GetFile: allowed, {response.file.name}")
        try:
            files.DeleteFile(files_pb2.DeleteFileRequest(id="file-1"), timeout=TIMEOUT)
            print("DeleteFile: allowed")
        except grpc.RpcError as error:
            detail = auth_error_detail(error)
            print(f"DeleteFile: {error.code().name}, {detail.error}, required {' '.join(detail.required_scopes)}")


if __name__ == "__main__":
    main()
