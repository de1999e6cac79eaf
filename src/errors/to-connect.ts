import { type Code, ConnectError } from "@connectrpc/connect";
import { AuthErrorDetailSchema } from "../../gen/tessera/v1/token_service_pb.js";
import { authErrorDetail } from "./error-detail.js";
import { asTesseraError } from "./tessera-error.js";
import { wwwAuthenticate } from "./to-http.js";

/** Maps any thrown value to a ConnectError with the OAuth error in its details. */
export function toConnectError(thrown: unknown): ConnectError {
  if (thrown instanceof ConnectError) return thrown;
  const err = asTesseraError(thrown);
  const metadata = new Headers();
  const challenge = wwwAuthenticate(err);
  if (challenge !== undefined) metadata.set("www-authenticate", challenge);
  if (err.retryAfterSeconds !== undefined) metadata.set("retry-after", String(err.retryAfterSeconds));
  return new ConnectError(err.message, err.grpcCode as number as Code, metadata, [{ desc: AuthErrorDetailSchema, value: authErrorDetail(err) }]);
}
