import { fromBinary } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import type { Metadata } from "@grpc/grpc-js";
import { StatusSchema } from "../../../gen/google/rpc/status_pb.js";
import { AuthErrorDetailSchema, type AuthErrorDetail } from "../../../gen/tessera/v1/token_service_pb.js";

/**
 * The tessera.v1.AuthErrorDetail in a status's `grpc-status-details-bin` trailer, if any.
 *
 * @example
 * ```ts
 * import { authErrorDetail } from "tessera/grpc";
 *
 * client.deleteFile({ id }, (err) => {
 *   const detail = err?.metadata && authErrorDetail(err.metadata); // the metadata, not the error
 *   if (detail) console.error(`needs ${detail.requiredScopes.join(" ")} for ${detail.requiredAudience}`);
 * });
 * ```
 */
export function authErrorDetail(metadata: Metadata): AuthErrorDetail | undefined {
  const raw = metadata.get("grpc-status-details-bin")[0];
  if (!(raw instanceof Buffer)) return undefined;
  try {
    for (const any of fromBinary(StatusSchema, raw).details) {
      const detail = anyUnpack(any, AuthErrorDetailSchema);
      if (detail !== undefined) return detail;
    }
  } catch {
    return undefined;
  }
  return undefined;
}
