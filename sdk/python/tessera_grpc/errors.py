"""Tessera's error model on gRPC: the code, the OAuth error, and an AuthErrorDetail in grpc-status-details-bin."""

import grpc
from google.protobuf import any_pb2, descriptor_pb2, descriptor_pool

try:  # googleapis-common-protos, when installed (grpcio-status depends on it)
    from google.rpc.status_pb2 import Status
except ImportError:  # pragma: no cover - depends on the environment
    Status = None

from tessera.v1 import token_service_pb2

_DETAIL_TYPE_URL = "type.googleapis.com/tessera.v1.AuthErrorDetail"


def _private_status_class():
    """google.rpc.Status from a private descriptor pool, so as not to clash with googleapis-common-protos."""
    from google.protobuf import message_factory

    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(any_pb2.DESCRIPTOR.serialized_pb)
    file = descriptor_pb2.FileDescriptorProto(name="google/rpc/status.proto", package="google.rpc", syntax="proto3",
                                              dependency=["google/protobuf/any.proto"])
    message = file.message_type.add(name="Status")
    F = descriptor_pb2.FieldDescriptorProto
    message.field.add(name="code", json_name="code", number=1, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL)
    message.field.add(name="message", json_name="message", number=2, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    message.field.add(name="details", json_name="details", number=3, type=F.TYPE_MESSAGE, label=F.LABEL_REPEATED,
                      type_name=".google.protobuf.Any")
    pool.Add(file)
    descriptor = pool.FindMessageTypeByName("google.rpc.Status")
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(descriptor)
    return message_factory.MessageFactory(pool).GetPrototype(descriptor)


if Status is None:
    Status = _private_status_class()


class AuthError(Exception):
    """A refused call. code is a grpc.StatusCode; error the OAuth error name."""

    def __init__(self, code, error, description, required_scopes=(), required_audience="", token_sent=True,
                 challenge=False, retry_after=None):
        super().__init__(f"{error}: {description}")
        self.code = code
        self.error = error
        self.description = description
        self.required_scopes = list(required_scopes)
        self.required_audience = required_audience
        self.token_sent = token_sent
        self.challenge = challenge
        self.retry_after = retry_after

    def detail(self):
        return token_service_pb2.AuthErrorDetail(error=self.error, error_description=self.description,
                                                 required_scopes=self.required_scopes,
                                                 required_audience=self.required_audience)

    def trailing_metadata(self):
        """grpc-status-details-bin (google.rpc.Status with the AuthErrorDetail), www-authenticate, retry-after."""
        status = Status(code=self.code.value[0], message=self.description)
        detail = status.details.add()
        detail.type_url = _DETAIL_TYPE_URL
        detail.value = self.detail().SerializeToString()
        metadata = [("grpc-status-details-bin", status.SerializeToString())]
        if self.challenge:
            params = ['realm="tessera"']
            if self.token_sent:
                params += [f"error={_quote(self.error)}", f"error_description={_quote(self.description)}"]
            if self.required_scopes:
                params.append(f"scope={_quote(' '.join(self.required_scopes))}")
            metadata.append(("www-authenticate", "Bearer " + ", ".join(params)))
        if self.retry_after is not None:
            metadata.append(("retry-after", str(self.retry_after)))
        return tuple(metadata)


def _quote(value):
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def invalid_token(description, token_sent=True):
    return AuthError(grpc.StatusCode.UNAUTHENTICATED, "invalid_token", description, token_sent=token_sent, challenge=True)


def invalid_request(description):
    return AuthError(grpc.StatusCode.INVALID_ARGUMENT, "invalid_request", description)


def insufficient_scope(description, rule):
    return AuthError(grpc.StatusCode.PERMISSION_DENIED, "insufficient_scope", description,
                     required_scopes=rule.least_privilege_scopes(), required_audience=rule.audience, challenge=True)


def unavailable(description):
    return AuthError(grpc.StatusCode.UNAVAILABLE, "temporarily_unavailable", description, retry_after=1)


def auth_error_detail(rpc_error):
    """The tessera.v1.AuthErrorDetail of a failed call (a grpc.RpcError), or None."""
    for key, value in rpc_error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            for any_detail in Status.FromString(value).details:
                if any_detail.type_url == _DETAIL_TYPE_URL:
                    return token_service_pb2.AuthErrorDetail.FromString(any_detail.value)
    return None
