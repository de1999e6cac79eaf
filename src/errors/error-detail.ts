import { create } from "@bufbuild/protobuf";
import { AuthErrorDetailSchema, type AuthErrorDetail } from "../../gen/tessera/v1/token_service_pb.js";
import type { TesseraError } from "./tessera-error.js";

/** The machine-readable detail attached to every gRPC and Connect error. */
export function authErrorDetail(err: TesseraError): AuthErrorDetail {
  return create(AuthErrorDetailSchema, {
    error: err.error,
    errorDescription: err.message,
    requiredScopes: [...err.requiredScopes],
    requiredAudience: err.requiredAudience ?? "",
  });
}
