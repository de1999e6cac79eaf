// The conformance corpus (conformance/cases.json): minting each case's token
// and calling a runner with it, the same way for every runtime.
import { createHmac, generateKeyPairSync, randomUUID, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type DescMessage, create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { authErrorDetail } from "../../src/interceptors/grpc/status-detail.js";
import type { SigningKey } from "../../src/keys/signing-key.js";
import { REPO_ROOT } from "./child-process.js";
import { malleate } from "./malleate.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface TokenRecipe {
  scopes?: string[];
  audience?: string;
  clientId?: string;
  header?: Record<string, Json>;
  dropHeader?: string[];
  claims?: Record<string, Json>;
  dropClaims?: string[];
  rawHeader?: string;
  rawPayload?: string;
  key?: "issuer" | "unknown" | "impostor";
  signature?: "corrupt" | "empty" | "truncated" | "malleate" | "noncanonical" | "padded" | "standard-base64" | "hmac-public-key";
  serialization?: "two-parts" | "four-parts" | "padded-payload";
}

export interface Expected {
  code: string;
  error?: string | null;
  requiredScopes?: string[];
  requiredAudience?: string;
  anonymous?: boolean;
}

export interface ConformanceCase {
  name: string;
  method?: string;
  path?: string;
  token?: TokenRecipe;
  authorization?: string[];
  revoke?: "token" | "client";
  expect: Expected;
}

export interface StartupCase {
  name: string;
  guard: string[];
  expect: { starts: boolean; methods?: string[] };
}

export interface Corpus {
  version: number;
  service: string;
  startup: StartupCase[];
  cases: ConformanceCase[];
}

export function loadCorpus(): Corpus {
  return JSON.parse(readFileSync(join(REPO_ROOT, "conformance/cases.json"), "utf8")) as Corpus;
}

/** A token minted for a case, and what it is for. */
export interface Minted {
  token: string;
  clientId: string;
  jti: string;
  exp: number;
}

const b64 = (bytes: Buffer | string) => Buffer.from(bytes).toString("base64url");
const otherKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;

function resolveValue(value: Json, context: { now: number; issuer: string; exp: number }): Json {
  if (typeof value === "string") return value.replace("{issuer}", context.issuer).replace("{exp}", String(context.exp));
  if (Array.isArray(value)) return value.map((v) => resolveValue(v, context));
  if (value !== null && typeof value === "object") {
    if (typeof value.now === "number" && Object.keys(value).length === 1) return context.now + value.now;
    if (typeof value.repeat === "string" && typeof value.times === "number") return value.repeat.repeat(value.times);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveValue(v, context)]));
  }
  return value;
}

/** Mints the token of a recipe, signed as the recipe says (by default with the issuer's current key). */
export function mint(recipe: TokenRecipe, issuerKey: SigningKey, issuer: string, service: string): Minted {
  const now = Math.floor(Date.now() / 1000);
  const clientId = recipe.clientId ?? "conformance-client";
  const jti = randomUUID();
  const context = { now, issuer, exp: now + 300 };
  const header: Record<string, Json> = { alg: "ES256", kid: recipe.key === "unknown" ? `unknown-${jti}` : issuerKey.kid, typ: "at+jwt" };
  for (const [k, v] of Object.entries(recipe.header ?? {})) header[k] = resolveValue(v, context);
  for (const k of recipe.dropHeader ?? []) delete header[k];
  const claims: Record<string, Json> = {
    iss: issuer,
    sub: clientId,
    aud: recipe.audience ?? service,
    exp: now + 300,
    iat: now,
    jti,
    client_id: clientId,
    scope: (recipe.scopes ?? []).join(" "),
  };
  for (const [k, v] of Object.entries(recipe.claims ?? {})) claims[k] = resolveValue(v, context);
  for (const k of recipe.dropClaims ?? []) delete claims[k];
  const headerBytes =
    recipe.rawHeader === "BOM"
      ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(header))])
      : Buffer.from(recipe.rawHeader ?? JSON.stringify(header));
  const payloadBytes =
    recipe.rawPayload === "INVALID_UTF8" ? Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]) : Buffer.from(recipe.rawPayload ?? JSON.stringify(claims));
  let payloadPart = b64(payloadBytes);
  if (recipe.serialization === "padded-payload") payloadPart += "=".repeat((4 - (payloadPart.length % 4)) % 4 || 2);
  const input = `${b64(headerBytes)}.${payloadPart}`;
  const key = recipe.key === "unknown" || recipe.key === "impostor" ? otherKey : issuerKey.privateKey;
  let signature =
    recipe.signature === "hmac-public-key"
      ? createHmac("sha256", JSON.stringify(issuerKey.publicJwk)).update(input).digest()
      : sign("sha256", Buffer.from(input), { key: key as Parameters<typeof sign>[2] & object, dsaEncoding: "ieee-p1363" } as never);
  if (recipe.signature === "corrupt") signature = Buffer.from(signature.map((byte, i) => (i === 10 ? byte ^ 0x01 : byte)));
  if (recipe.signature === "truncated") signature = signature.subarray(0, 32);
  let token = `${input}.${recipe.signature === "empty" ? "" : b64(signature)}`;
  if (recipe.signature === "malleate") token = malleate(token);
  if (recipe.signature === "noncanonical") {
    // 64 bytes in 86 characters leave 4 bits that must be zero: set one.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(token.slice(-1));
    token = token.slice(0, -1) + alphabet[last | 1];
  }
  if (recipe.signature === "padded") token += "==";
  if (recipe.signature === "standard-base64") token = `${token.slice(0, token.lastIndexOf(".") + 1)}+${token.slice(token.lastIndexOf(".") + 2)}`;
  if (recipe.serialization === "two-parts") token = input;
  if (recipe.serialization === "four-parts") token = `${token}.${token.split(".")[2]}`;
  return { token, clientId, jti, exp: now + 300 };
}

/** How a runtime decided one call. */
export interface Outcome {
  code: string;
  error: string | null;
  requiredScopes: string[];
  requiredAudience: string;
  clientId: string;
}

/** Calls a runner's method with the given authorization values; unary or server-streaming. */
export function call(
  client: grpc.Client,
  path: string,
  streaming: boolean,
  authorization: readonly string[],
  messages: { request: DescMessage; response: DescMessage },
): Promise<Outcome> {
  const metadata = new grpc.Metadata();
  for (const value of authorization) metadata.add("authorization", value);
  const serialize = (value: Record<string, unknown>) => Buffer.from(toBinary(messages.request, create(messages.request, value)));
  const deserialize = (bytes: Buffer) => fromBinary(messages.response, bytes) as unknown as { clientId: string };
  const deadline = Date.now() + 10_000;
  const failed = (err: grpc.ServiceError): Outcome => {
    const detail = authErrorDetail(err.metadata);
    return {
      code: grpc.status[err.code] ?? String(err.code),
      error: detail?.error ?? null,
      requiredScopes: detail ? [...detail.requiredScopes] : [],
      requiredAudience: detail?.requiredAudience ?? "",
      clientId: "",
    };
  };
  const allowed = (clientId: string): Outcome => ({ code: "OK", error: null, requiredScopes: [], requiredAudience: "", clientId });
  return new Promise((resolve) => {
    if (!streaming) {
      client.makeUnaryRequest(path, serialize, deserialize, { text: "hi" }, metadata, { deadline }, (err, res) =>
        resolve(err ? failed(err) : allowed(res?.clientId ?? "")),
      );
      return;
    }
    const stream = client.makeServerStreamRequest(path, serialize, deserialize, { text: "hi" }, metadata, { deadline });
    let clientId = "";
    stream.on("data", (res: { clientId: string }) => (clientId = res.clientId));
    stream.on("error", (err: grpc.ServiceError) => resolve(failed(err)));
    stream.on("end", () => resolve(allowed(clientId)));
  });
}

/** The authorization values of a case: its own (with {token} filled in), else `Bearer <token>`. */
export function authorizationOf(c: ConformanceCase, minted: Minted | undefined): string[] {
  if (c.authorization !== undefined) return c.authorization.map((v) => v.replaceAll("{token}", minted?.token ?? ""));
  return minted === undefined ? [] : [`Bearer ${minted.token}`];
}

/** Whether an outcome is what the case expects. */
export function meets(outcome: Outcome, c: ConformanceCase, minted: Minted | undefined): boolean {
  const { expect } = c;
  if (outcome.code !== expect.code) return false;
  if (expect.code === "OK") return outcome.clientId === (expect.anonymous || minted === undefined ? "" : minted.clientId);
  if (expect.error !== undefined && outcome.error !== expect.error) return false;
  if (expect.requiredScopes !== undefined && JSON.stringify(outcome.requiredScopes) !== JSON.stringify(expect.requiredScopes)) return false;
  return expect.requiredAudience === undefined || outcome.requiredAudience === expect.requiredAudience;
}
