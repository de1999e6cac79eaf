import { stringMemo } from "../internal/string-memo.js";
import { SCOPE_TOKEN } from "../internal/oauth-syntax.js";
import { InvalidRequestError, InvalidScopeError, InvalidTargetError } from "../errors/tessera-error.js";
import type { RegisteredClient } from "../registry/registered-client.js";

/** What a token request asks for, as received. */
export interface TargetRequest {
  /** RFC 8707 resource indicator: an absolute URI without fragment. */
  resource?: string | undefined;
  /** Alias of resource sent by some clients; any registered audience name. */
  audience?: string | undefined;
  /** Requested scopes; undefined or empty means "every scope granted for the audience". */
  scopes?: readonly string[] | undefined;
}

/** The audience and scopes a token will carry: never wider than the client's grant. */
export interface AuthorizedTarget {
  readonly audience: string;
  readonly scopes: readonly string[];
}

/**
 * The syntax check of a resource indicator, remembered for the well-formed ones: it is a function of
 * the string alone, clients send the same few on every request, and a URL parse is most of it.
 */
const checkResourceSyntax = stringMemo(parseResource, { maxLength: 256 });

function parseResource(resource: string): void {
  if (!/^[\x21-\x7E]+$/.test(resource)) throw new InvalidTargetError("resource must be an absolute URI without spaces", { malformed: true });
  let url: URL;
  try {
    url = new URL(resource);
  } catch {
    throw new InvalidTargetError("resource must be an absolute URI", { malformed: true });
  }
  if (resource.includes("#") || url.hash) throw new InvalidTargetError("resource must not contain a fragment", { malformed: true });
}

/** Splits an RFC 6749 §3.3 scope string; rejects a malformed one. */
export function parseScopeString(scope: string): string[] {
  if (scope === "") return [];
  const parts = scope.split(" ");
  if (parts.some((p) => p === "")) throw new InvalidScopeError("scope must be scope tokens separated by single spaces", { malformed: true });
  return parts;
}

/** The requested audience from resource and/or its alias; undefined when neither was sent. */
export function requestedAudience(request: TargetRequest): string | undefined {
  const { resource, audience } = request;
  if (resource !== undefined && resource !== "") checkResourceSyntax(resource);
  if (audience !== undefined && audience !== "" && (/[\s]/.test(audience) || !/^[\x21-\x7E]+$/.test(audience))) {
    throw new InvalidTargetError("audience must be printable ASCII without spaces", { malformed: true });
  }
  const r = resource || undefined;
  const a = audience || undefined;
  if (r !== undefined && a !== undefined && r !== a) throw new InvalidRequestError("resource and audience name different targets");
  return r ?? a;
}

/** Validates the syntax of requested scopes and removes duplicates. */
export function requestedScopes(scopes: readonly string[] | undefined): string[] {
  const list = scopes ?? [];
  for (const scope of list) {
    if (!SCOPE_TOKEN.test(scope)) throw new InvalidScopeError("a requested scope is not a valid scope token", { malformed: true });
  }
  return [...new Set(list)];
}

/** A target request whose syntax passed: the audience asked for (if any) and the scopes, without duplicates. */
export interface CheckedTarget {
  readonly audience: string | undefined;
  readonly scopes: readonly string[];
}

/** Checks the syntax of the target request without looking at any client. */
export function checkTargetSyntax(request: TargetRequest): CheckedTarget {
  return { audience: requestedAudience(request), scopes: requestedScopes(request.scopes) };
}

/**
 * Authorizes a token request against the client's grants: the audience must be
 * granted exactly (no prefix match, no case folding) and every requested scope
 * must be inside that grant. Nothing is dropped silently: anything outside the
 * grant refuses the whole request.
 */
export function authorizeTarget(client: RegisteredClient, request: TargetRequest, checked: CheckedTarget = checkTargetSyntax(request)): AuthorizedTarget {
  const { audience, scopes } = checked;

  let grant: RegisteredClient["grants"][number] | undefined;
  if (audience !== undefined) {
    grant = client.grants.find((g) => g.audience === audience);
    if (grant === undefined) throw new InvalidTargetError("the client is not granted this resource");
  } else if (client.grants.length === 1) {
    grant = client.grants[0];
  } else if (client.grants.length === 0) {
    throw new InvalidTargetError("the client is not granted any resource");
  } else if (scopes.length === 0) {
    throw new InvalidTargetError("resource is required: the client is granted several", { malformed: true });
  } else {
    const holding = client.grants.filter((g) => scopes.every((s) => g.scopes.includes(s)));
    if (holding.length === 1) {
      grant = holding[0];
    } else if (holding.length > 1) {
      throw new InvalidTargetError("resource is required: the scopes are granted for several resources", { malformed: true });
    } else {
      throw new InvalidScopeError("the requested scopes are not granted for a single resource; send resource");
    }
  }

  const granted = grant!.scopes;
  const outside = scopes.filter((s) => !granted.includes(s));
  if (outside.length > 0) throw new InvalidScopeError(`scope not granted for this resource: ${outside.join(" ")}`);
  return Object.freeze({ audience: grant!.audience, scopes: Object.freeze(scopes.length > 0 ? scopes : [...granted]) });
}
