import type { ClientAddressResolver } from "../../internal/source-address.js";
import type { IssuerContext } from "../../issuer/issuer-context.js";
import { revokeToken } from "../../issuer/revoke-token.js";
import { NO_STORE, refuseMethod, sendError, type HttpRoute } from "../http-io.js";
import { formCredentials, readFormParams } from "./form-params.js";

/** POST /oauth2/revoke (RFC 7009): 200 with an empty body once the revocation is stored. */
export function revocationEndpoint(ctx: IssuerContext, addresses: ClientAddressResolver): HttpRoute {
  return async (req, res) => {
    if (refuseMethod(req, res, ["POST"])) return;
    try {
      const params = await readFormParams(req);
      await revokeToken(ctx, {
        credentials: formCredentials(req, params, addresses),
        token: params.get("token"),
        tokenTypeHint: params.get("token_type_hint"),
      });
      res.writeHead(200, { "content-length": "0", ...NO_STORE });
      res.end();
    } catch (err) {
      sendError(res, err);
    }
  };
}
