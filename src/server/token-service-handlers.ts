import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  ClientCredentials,
  GetJwksResponseSchema,
  IntrospectRequest,
  IntrospectResponseSchema,
  IssueTokenRequest,
  IssueTokenResponseSchema,
  RevokeRequest,
  RevokeResponseSchema,
} from "../../gen/tessera/v1/token_service_pb.js";
import type { ClientCredentialsInput } from "../issuer/client-authentication/client-credentials-input.js";
import { InvalidRequestError } from "../errors/tessera-error.js";
import { parseBasicAuthorization, soleAuthorization } from "../issuer/client-authentication/client-credentials-input.js";
import { getJwks } from "../issuer/get-jwks.js";
import { introspectToken } from "../issuer/introspect-token.js";
import type { IssuerContext } from "../issuer/issuer-context.js";
import { issueToken } from "../issuer/issue-token.js";
import { revokeToken } from "../issuer/revoke-token.js";

/** What the handlers need to know about a call, whatever the transport. */
export interface CallInfo {
  /** Every `authorization` header or metadata value, in order (more than one is refused). */
  readonly authorization: readonly string[];
  /** Whether the URL's query carried `access_token` (credentials never travel in the URI: refused). */
  readonly queryToken?: boolean | undefined;
  /** Server streams: resets the stream at once (see WatchCall.reset). */
  readonly reset?: (() => void) | undefined;
  /** The caller's IP address (the peer, or the client behind a trusted proxy), for throttling failed authentications. */
  readonly source?: string | undefined;
}

/** Empty proto3 strings mean "not sent". */
function opt(value: string): string | undefined {
  return value === "" ? undefined : value;
}

export function credentialsOf(client: ClientCredentials | undefined, call: CallInfo): ClientCredentialsInput {
  if (call.queryToken) throw new InvalidRequestError("credentials must not be sent in the query string");
  return {
    basic: parseBasicAuthorization(soleAuthorization(call.authorization)),
    clientId: opt(client?.clientId ?? ""),
    clientSecret: opt(client?.clientSecret ?? ""),
    clientAssertionType: opt(client?.clientAssertionType ?? ""),
    clientAssertion: opt(client?.clientAssertion ?? ""),
    source: call.source,
  };
}

/** The published JWK Set as GetJwks (and WatchKeys) carry it. */
export function jwksMessage(ctx: IssuerContext): MessageInitShape<typeof GetJwksResponseSchema> {
  const jwks = getJwks(ctx);
  return {
    jwksJson: JSON.stringify(jwks),
    keys: jwks.keys.map((k) => ({
      kid: k.kid ?? "",
      kty: k.kty ?? "",
      alg: k.alg ?? "",
      use: k.use ?? "",
      crv: k.crv ?? "",
      x: k.x ?? "",
      y: k.y ?? "",
      n: k.n ?? "",
      e: k.e ?? "",
    })),
  };
}

/**
 * tessera.v1.TokenService over the issuer: protobuf messages in and out, no
 * transport code. The Connect routes and the grpc-js bridge both serve these.
 */
export function tokenServiceHandlers(ctx: IssuerContext) {
  return {
    async issueToken(req: IssueTokenRequest, call: CallInfo): Promise<MessageInitShape<typeof IssueTokenResponseSchema>> {
      const issued = await issueToken(ctx, {
        grantType: req.grantType,
        credentials: credentialsOf(req.client, call),
        resource: opt(req.resource),
        audience: opt(req.audience),
        scopes: req.scopes,
        assertion: opt(req.assertion),
      });
      return {
        accessToken: issued.accessToken,
        tokenType: issued.tokenType,
        expiresIn: BigInt(issued.expiresIn),
        scopes: [...issued.scopes],
        audience: issued.audience,
      };
    },

    async introspect(req: IntrospectRequest, call: CallInfo): Promise<MessageInitShape<typeof IntrospectResponseSchema>> {
      const result = await introspectToken(ctx, {
        credentials: credentialsOf(req.client, call),
        token: opt(req.token),
        tokenTypeHint: opt(req.tokenTypeHint),
      });
      if (!result.active) return { active: false };
      return {
        active: true,
        scope: result.scope,
        clientId: result.client_id,
        tokenType: result.token_type,
        exp: BigInt(result.exp),
        iat: BigInt(result.iat),
        nbf: BigInt(result.nbf ?? 0),
        sub: result.sub,
        aud: result.aud,
        iss: result.iss,
        jti: result.jti,
      };
    },

    async getJwks(): Promise<MessageInitShape<typeof GetJwksResponseSchema>> {
      return jwksMessage(ctx);
    },

    async revoke(req: RevokeRequest, call: CallInfo): Promise<MessageInitShape<typeof RevokeResponseSchema>> {
      await revokeToken(ctx, { credentials: credentialsOf(req.client, call), token: opt(req.token), tokenTypeHint: opt(req.tokenTypeHint) });
      return {};
    },
  };
}

export type TokenServiceHandlers = ReturnType<typeof tokenServiceHandlers>;
