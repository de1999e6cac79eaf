import { introspectToken } from "../../issuer/introspect-token.js";
import type { ClientAddressResolver } from "../../internal/source-address.js";
import type { IssuerContext } from "../../issuer/issuer-context.js";
import { NO_STORE, refuseMethod, sendError, sendJson, type HttpRoute } from "../http-io.js";
import { formCredentials, readFormParams } from "./form-params.js";

/** POST /oauth2/introspect (RFC 7662). An inactive token answers exactly {"active":false}. */
export function introspectionEndpoint(ctx: IssuerContext, addresses: ClientAddressResolver): HttpRoute {
  return async (req, res) => {
    if (refuseMethod(req, res, ["POST"])) return;
    try {
      const params = await readFormParams(req);
      const result = await introspectToken(ctx, {
        credentials: formCredentials(req, params, addresses),
        token: params.get("token"),
        tokenTypeHint: params.get("token_type_hint"),
      });
      sendJson(res, 200, result, NO_STORE);
    } catch (err) {
      sendError(res, err);
    }
  };
}
