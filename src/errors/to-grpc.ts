import { create, toBinary } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { Metadata, type StatusObject } from "@grpc/grpc-js";
import { StatusSchema } from "../../gen/google/rpc/status_pb.js";
import { AuthErrorDetailSchema } from "../../gen/tessera/v1/token_service_pb.js";
import { authErrorDetail } from "./error-detail.js";
import { asTesseraError } from "./tessera-error.js";
import { wwwAuthenticate } from "./to-http.js";

/**
 * Maps any thrown value to a grpc-js status. The OAuth error rides in the
 * standard `grpc-status-details-bin` trailer (google.rpc.Status with an
 * AuthErrorDetail), which every gRPC implementation can decode.
 */
export function toGrpcStatus(thrown: unknown): Partial<StatusObject> & { code: number; details: string; metadata: Metadata } {
  const err = asTesseraError(thrown);
  const metadata = new Metadata();
  const challenge = wwwAuthenticate(err);
  if (challenge !== undefined) metadata.set("www-authenticate", challenge);
  if (err.retryAfterSeconds !== undefined) metadata.set("retry-after", String(err.retryAfterSeconds));
  const status = create(StatusSchema, {
    code: err.grpcCode,
    message: err.message,
    details: [anyPack(AuthErrorDetailSchema, authErrorDetail(err))],
  });
  metadata.set("grpc-status-details-bin", Buffer.from(toBinary(StatusSchema, status)));
  return { code: err.grpcCode, details: err.message, metadata };
}
