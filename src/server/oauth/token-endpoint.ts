import { InvalidRequestError } from "../../errors/tessera-error.js";
import type { ClientAddressResolver } from "../../internal/source-address.js";
import type { IssuerContext } from "../../issuer/issuer-context.js";
import { issueToken } from "../../issuer/issue-token.js";
import { parseScopeString } from "../../issuer/authorize-request.js";
import { NO_STORE, refuseMethod, sendError, sendJson, type HttpRoute } from "../http-io.js";
import { formCredentials, readFormParams } from "./form-params.js";

/** POST /oauth2/token (RFC 6749 §4.4, §5; RFC 7523; RFC 8707; RFC 8693 token exchange). */
export function tokenEndpoint(ctx: IssuerContext, addresses: ClientAddressResolver): HttpRoute {
  return async (req, res) => {
    if (refuseMethod(req, res, ["POST"])) return;
    try {
      const params = await readFormParams(req);
      const grantType = params.get("grant_type");
      if (!grantType) throw new InvalidRequestError("grant_type is required");
      const scope = params.get("scope");
      const issued = await issueToken(ctx, {
        grantType,
        credentials: formCredentials(req, params, addresses),
        resource: params.get("resource"),
        audience: params.get("audience"),
        scopes: scope === undefined ? undefined : parseScopeString(scope),
        assertion: params.get("assertion"),
        subjectToken: params.get("subject_token"),
        subjectTokenType: params.get("subject_token_type"),
        actorToken: params.get("actor_token"),
        actorTokenType: params.get("actor_token_type"),
        requestedTokenType: params.get("requested_token_type"),
      });
      sendJson(
        res,
        200,
        {
          access_token: issued.accessToken,
          ...(issued.issuedTokenType === undefined ? {} : { issued_token_type: issued.issuedTokenType }),
          token_type: issued.tokenType,
          expires_in: issued.expiresIn,
          scope: issued.scopes.join(" "),
        },
        NO_STORE,
      );
    } catch (err) {
      sendError(res, err);
    }
  };
}
