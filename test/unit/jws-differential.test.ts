// Differential test of our access-token verifier against jose, the oracle.
// A seeded corpus of mutated tokens (every header member, every claim,
// signature bytes, base64url spellings, algorithm and key swaps, structure)
// goes through both: verifyAccessToken with the issuer's JWKS (as
// TokenVerifier uses it) and jose's jwtVerify with our profile's options
// (algorithms, typ, issuer, audience, clock) over the same JWKS. Our verifier
// must accept nothing jose refuses, and every token it refuses while jose
// accepts it must break one of our stricter rules, named below.
import assert from "node:assert/strict";
import { createHmac, KeyObject, sign as cryptoSign, type webcrypto } from "node:crypto";
import { test } from "node:test";
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from "jose";
import { InvalidTokenError } from "../../src/errors/tessera-error.js";
import { accessTokenSigner, JWS_REFUSALS } from "../../src/keys/jws.js";
import { localKeySet } from "../../src/keys/local-key-set.js";
import { generateSigningKey, type SigningKey } from "../../src/keys/signing-key.js";
import { verifyAccessToken, type VerificationKeyResolver, type VerifyAccessTokenOptions } from "../../src/verifier/verify-access-token.js";
import { FrozenClock } from "../helpers/frozen-clock.js";
import { prng } from "../helpers/prng.js";

const CORPUS_SIZE = 10_500;
const SEED = 0x7e55e4a;
const ISS = "https://tessera.example";
const AUD = "calendar";
const TOLERANCE = 30;
const clock = new FrozenClock();
const NOW = clock.seconds();

const random = prng(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const chance = (p: number) => random() < p;

const es256 = await generateSigningKey("ES256");
const ed25519 = await generateSigningKey("EdDSA");
const rs256 = await generateSigningKey("RS256");
const attacker = await generateSigningKey("ES256");
const published = [es256, ed25519, rs256];
const everyKey = [...published, attacker];
const jwks: JSONWebKeySet = { keys: published.map((k) => ({ ...k.publicJwk })) };

const ourKeys = localKeySet(jwks);
const resolver: VerificationKeyResolver = (kid, alg) => ourKeys({ kid, alg });
const options: VerifyAccessTokenOptions = {
  issuer: ISS,
  algorithms: ["ES256", "EdDSA", "RS256"],
  clockToleranceSeconds: TOLERANCE,
  maxLifetimeSeconds: 3600,
  clock,
};
const joseKeys = createLocalJWKSet(jwks);
// Our profile's options, as verifyAccessToken handed them to jose before it verified on its own.
const joseOptions = {
  algorithms: ["ES256", "EdDSA", "RS256"],
  typ: "at+jwt",
  issuer: ISS,
  audience: AUD,
  clockTolerance: TOLERANCE,
  currentDate: new Date(clock.now()),
  requiredClaims: ["exp", "iat", "jti", "sub"],
};

/** Where our verifier may be stricter than jose: the header rules of our JWS, and the claim rules of our profile (kept as before). */
const STRICTER = new Map<string, string>([
  [JWS_REFUSALS.parts, "header"],
  [JWS_REFUSALS.base64url, "header"],
  [JWS_REFUSALS.headerCrit, "header"],
  [JWS_REFUSALS.headerKey, "header"],
  [JWS_REFUSALS.headerMember, "header"],
  [JWS_REFUSALS.headerShape, "header"],
  [JWS_REFUSALS.typ, "header"],
  ["the token's lifetime exceeds the accepted maximum", "profile claims"],
  ["the token was issued in the future", "profile claims"],
  ["the token lacks sub, jti or client_id", "profile claims"],
  ["the token must have exactly one audience", "profile claims"],
  ["the token's scope claim is malformed", "profile claims"],
  ["the token's exp claim is malformed", "profile claims"],
  ["the token's iat claim is malformed", "profile claims"],
  ["the token's nbf claim is malformed", "profile claims"],
]);

const b64 = (bytes: string | Buffer) => Buffer.from(bytes).toString("base64url");

/** Signs header and payload text as given, as `alg` says and with `key`'s private half (or HMAC over the public JWK, or none). */
function signText(headerPart: string, payloadPart: string, alg: unknown, key: SigningKey): string {
  const input = Buffer.from(`${headerPart}.${payloadPart}`);
  if (alg === "none") return "";
  if (typeof alg === "string" && alg.startsWith("HS")) return b64(createHmac("sha256", JSON.stringify(key.publicJwk)).update(input).digest());
  const privateKey = KeyObject.from(key.privateKey as unknown as webcrypto.CryptoKey);
  if (key.alg === "ES256") return b64(cryptoSign("sha256", input, { key: privateKey, dsaEncoding: "ieee-p1363" }));
  return b64(cryptoSign(key.alg === "EdDSA" ? null : "sha256", input, privateKey));
}

function baseClaims(): Record<string, unknown> {
  return {
    iss: ISS,
    sub: "billing",
    aud: AUD,
    iat: NOW,
    nbf: NOW,
    exp: NOW + 300,
    jti: `j-${Math.floor(random() * 1e9)}`,
    client_id: "billing",
    scope: pick(["event.view", "event.view event.create", ""]),
  };
}
const baseHeader = (key: SigningKey): Record<string, unknown> => ({ alg: key.alg, kid: key.kid, typ: "at+jwt" });
const signerKey = () => pick([es256, es256, es256, ed25519, ed25519, rs256]);

const HEADER_VALUES: Record<string, readonly unknown[]> = {
  alg: ["ES256", "EdDSA", "RS256", "none", "HS256", "ES384", "PS256", "ES256K", "Ed25519", "", null, 5, "es256"],
  kid: [es256.kid, ed25519.kid, rs256.kid, attacker.kid, "", "unknown", es256.kid.toUpperCase(), null, 7, [es256.kid]],
  typ: ["at+jwt", "JWT", "application/at+jwt", "AT+JWT", "application/AT+JWT", "at+jwt ", "jwt", "", null, 1],
};
const EXTRA_MEMBERS: readonly [string, unknown][] = [
  ["crit", ["b64"]],
  ["crit", ["exp"]],
  ["crit", []],
  ["crit", "b64"],
  ["b64", true],
  ["b64", false],
  ["jwk", es256.publicJwk],
  ["jwk", attacker.publicJwk],
  ["jku", "https://evil.example/jwks"],
  ["x5u", "https://evil.example/cert"],
  ["x5c", ["MIIB"]],
  ["x5t", "abc"],
  ["cty", "JWT"],
  ["zip", "DEF"],
  ["enc", "A128GCM"],
  ["__proto__", { alg: "none" }],
  ["urn:example:claim", 1],
];
const CLAIM_VALUES: Record<string, readonly unknown[]> = {
  iss: [ISS, `${ISS}/`, ISS.toUpperCase(), "https://evil.example", "", null, 1, [ISS]],
  sub: ["billing", "", null, 1, ["billing"], { id: "billing" }],
  aud: [AUD, "other", [AUD], [AUD, "other"], ["other", AUD], [], "", null, 1, [1]],
  exp: [NOW + 300, NOW - TOLERANCE - 1, NOW - TOLERANCE, NOW - TOLERANCE + 1, NOW + 3600, NOW + 3601, NOW + 7200, `${NOW + 300}`, null, NOW + 300.5, -1, 0],
  iat: [NOW, NOW + TOLERANCE, NOW + TOLERANCE + 1, NOW - 3000, NOW - 4000, `${NOW}`, null, NOW + 0.5, 0],
  nbf: [NOW, NOW + TOLERANCE, NOW + TOLERANCE + 1, NOW + 3600, NOW - 100, `${NOW}`, null, 0],
  jti: ["j-x", "", null, 1, ["j"], { j: 1 }],
  client_id: ["billing", "other", "", null, 1, ["billing"]],
  scope: ["event.view", "", "a  b", " a", null, 1, ["event.view"], { s: 1 }],
  extra: ["x", 1, null, { nested: true }, [1, 2]],
};
/** Claim values JSON cannot write from JavaScript, spliced in as text. */
const RAW_NUMBERS = ["1e400", "-1e400", "1e-400", "17e8", `${NOW + 300}.0`, `${NOW + 300}e0`];

interface Spec {
  kind: string;
  header: Record<string, unknown> | string;
  payload: Record<string, unknown> | string;
  /** Key that signs (by its own algorithm unless the header says none or HS*). */
  key: SigningKey;
  encode?: (text: string) => string;
  /** Applied to the finished token. */
  post?: (token: string) => string;
}

function mutateHeader(spec: Spec): void {
  const header = spec.header as Record<string, unknown>;
  const op = random();
  if (op < 0.45) {
    const name = pick(["alg", "kid", "typ"]);
    if (chance(0.15)) delete header[name];
    else header[name] = pick(HEADER_VALUES[name]!);
  } else if (op < 0.8) {
    const [name, value] = pick(EXTRA_MEMBERS);
    if (name === "__proto__") Object.defineProperty(header, name, { value, enumerable: true, configurable: true, writable: true });
    else header[name] = value;
    // crit: ["b64"] with b64: true is a header jose understands and accepts.
    if (name === "crit" && chance(0.7)) header.b64 = true;
  } else {
    // Text-level spellings: member order, whitespace, duplicates.
    const entries = Object.entries(header);
    const text = pick([
      () => JSON.stringify(Object.fromEntries(entries.reverse())),
      () => JSON.stringify(header, null, 1),
      () => `{"alg":"none",${JSON.stringify(header).slice(1)}`,
      () => `${JSON.stringify(header).slice(0, -1)},"alg":"none"}`,
      () => `{"typ":"JWT",${JSON.stringify(header).slice(1)}`,
      () => `\uFEFF${JSON.stringify(header)}`,
      () => `${JSON.stringify(header)} `,
    ])();
    spec.header = text;
  }
  // Usually signed by the key its kid names; sometimes by another (algorithm and key swap).
  const kidKey = everyKey.find((k) => k.kid === header.kid);
  spec.key = kidKey !== undefined && chance(0.8) ? kidKey : pick(everyKey);
}

function mutateClaims(spec: Spec): void {
  const payload = spec.payload as Record<string, unknown>;
  for (let n = 1 + Math.floor(random() * 3); n > 0; n--) {
    const name = pick(Object.keys(CLAIM_VALUES));
    if (chance(0.15)) delete payload[name];
    else payload[name] = pick(CLAIM_VALUES[name]!);
  }
  if (chance(0.1)) {
    const name = pick(["exp", "iat", "nbf"]);
    const raw = pick(RAW_NUMBERS);
    const text = JSON.stringify({ ...payload, [name]: "RAW" }).replace('"RAW"', raw);
    spec.payload = text;
  }
}

function alterSignature(spec: Spec): void {
  const op = pick(["flip", "truncate", "extend", "zero", "empty", "swap", "highS"]);
  spec.post = (token) => {
    const [h, p, s] = token.split(".") as [string, string, string];
    const bytes = Buffer.from(s, "base64url");
    if (op === "flip") bytes[Math.floor(random() * bytes.length)]! ^= 1 << Math.floor(random() * 8);
    if (op === "truncate") return `${h}.${p}.${b64(bytes.subarray(0, Math.floor(random() * bytes.length)))}`;
    if (op === "extend") return `${h}.${p}.${b64(Buffer.concat([bytes, Buffer.from([0])]))}`;
    if (op === "zero") bytes.fill(0);
    if (op === "empty") return `${h}.${p}.`;
    if (op === "swap") return `${h}.${p}.${b64(Buffer.from(signText(h, b64(JSON.stringify(baseClaims())), spec.key.alg, spec.key), "base64url"))}`;
    if (op === "highS" && bytes.length === 64) {
      // ECDSA's other valid signature (r, n − s): both jose and we accept it; revocation keys on jti.
      const n = BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
      const s2 = n - BigInt(`0x${bytes.subarray(32).toString("hex")}`);
      Buffer.from(s2.toString(16).padStart(64, "0"), "hex").copy(bytes, 32);
    }
    return `${h}.${p}.${b64(bytes)}`;
  };
}

const STANDARD_B64 = (text: string) => Buffer.from(text).toString("base64");
function base64Variant(spec: Spec): void {
  const part = pick([0, 1, 2]);
  const op = pick(["pad", "standard", "space", "newline", "noncanonical", "plus", "tab"]);
  const resign = part < 2 && chance(0.7);
  const spell = (encoded: string): string => {
    if (op === "pad") return encoded + "=".repeat((4 - (encoded.length % 4)) % 4 || pick([1, 2]));
    if (op === "standard") return encoded.replace(/-/g, "+").replace(/_/g, "/");
    if (op === "space") return `${encoded.slice(0, 5)} ${encoded.slice(5)}`;
    if (op === "newline") return `${encoded}\n`;
    if (op === "tab") return `${encoded.slice(0, 3)}\t${encoded.slice(3)}`;
    if (op === "plus") return `${encoded.slice(0, -1)}+`;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(encoded.at(-1)!);
    return encoded.length % 4 === 0 ? encoded : `${encoded.slice(0, -1)}${alphabet[last ^ 1]}`;
  };
  if (resign) {
    if (part === 0 && op === "standard") spec.encode = (t) => (spell(b64(t)) === b64(t) ? STANDARD_B64(t) : spell(b64(t)));
    spec.post = (token) => {
      const parts = token.split(".") as [string, string, string];
      parts[part] = spell(parts[part]!);
      const header = spec.header;
      const alg = typeof header === "string" ? undefined : header.alg;
      return `${parts[0]}.${parts[1]}.${signText(parts[0], parts[1], alg, spec.key)}`;
    };
  } else {
    spec.post = (token) => {
      const parts = token.split(".");
      parts[part] = spell(parts[part]!);
      return parts.join(".");
    };
  }
}

function structure(spec: Spec): void {
  const op = pick(["drop-signature", "extra-part", "double-dot", "jwe-like", "payload-array", "payload-text", "payload-bad-utf8", "header-array", "empty"]);
  if (op === "payload-array") spec.payload = "[1]";
  else if (op === "payload-text") spec.payload = "claims";
  else if (op === "header-array") spec.header = `[${JSON.stringify(spec.header)}]`;
  else
    spec.post = (token) => {
      const [h, p, s] = token.split(".") as [string, string, string];
      if (op === "drop-signature") return `${h}.${p}`;
      if (op === "extra-part") return `${token}.${s}`;
      if (op === "double-dot") return `${h}..${p}.${s}`;
      if (op === "jwe-like") return `${h}.${p}.${s}.${s}.${s}`;
      if (op === "payload-bad-utf8") {
        const bytes = Buffer.concat([Buffer.from(JSON.stringify(baseClaims()).slice(0, -1)), Buffer.from(',"x":"\xff"}', "latin1")]);
        return `${h}.${b64(bytes)}.${signText(h, b64(bytes), spec.key.alg, spec.key)}`;
      }
      return "";
    };
}

function corpus(size: number): { kind: string; token: string }[] {
  const out: { kind: string; token: string }[] = [];
  for (let i = 0; i < size; i++) {
    const key = signerKey();
    const spec: Spec = { kind: "", header: baseHeader(key), payload: baseClaims(), key };
    const kind = pick(["valid", "header", "header", "header", "claims", "claims", "signature", "base64url", "base64url", "swap", "structure"]);
    spec.kind = kind;
    if (kind === "header") mutateHeader(spec);
    if (kind === "claims") mutateClaims(spec);
    if (kind === "signature") alterSignature(spec);
    if (kind === "base64url") base64Variant(spec);
    if (kind === "swap") {
      const header = spec.header as Record<string, unknown>;
      header.alg = pick(everyKey).alg;
      header.kid = pick(everyKey).kid;
      spec.key = pick(everyKey);
    }
    if (kind === "structure") structure(spec);
    const encode = spec.encode ?? b64;
    const headerPart = encode(typeof spec.header === "string" ? spec.header : JSON.stringify(spec.header));
    const payloadPart = encode(typeof spec.payload === "string" ? spec.payload : JSON.stringify(spec.payload));
    const alg = typeof spec.header === "string" ? spec.key.alg : spec.header.alg;
    let token = `${headerPart}.${payloadPart}.${signText(headerPart, payloadPart, alg, spec.key)}`;
    if (kind === "valid" && key === es256 && chance(0.5)) token = accessTokenSigner(key)(spec.payload as Record<string, unknown>);
    if (spec.post !== undefined) token = spec.post(token);
    out.push({ kind, token });
  }
  return out;
}

/** Our verdict: undefined when accepted (for AUD), else the refusal message. */
async function ours(token: string): Promise<string | undefined> {
  try {
    const claims = await verifyAccessToken(token, resolver, options);
    return claims.aud === AUD ? undefined : "audience";
  } catch (err) {
    if (err instanceof InvalidTokenError) return err.message;
    throw err;
  }
}

async function jose(token: string): Promise<string | undefined> {
  try {
    await jwtVerify(token, joseKeys, joseOptions);
    return undefined;
  } catch (err) {
    return err instanceof Error ? `${err.constructor.name}: ${err.message}` : String(err);
  }
}

test(`differential: our verifier vs jose over ${CORPUS_SIZE} mutated tokens`, { timeout: 120_000 }, async () => {
  const tokens = corpus(CORPUS_SIZE);
  const acceptedOnlyByUs: string[] = [];
  const unexplained: string[] = [];
  const tally = new Map<string, number>();
  const count = (key: string) => tally.set(key, (tally.get(key) ?? 0) + 1);
  for (let i = 0; i < tokens.length; i += 500) {
    const chunk = tokens.slice(i, i + 500);
    const verdicts = await Promise.all(chunk.map(async ({ kind, token }) => ({ kind, token, ours: await ours(token), jose: await jose(token) })));
    for (const v of verdicts) {
      if (v.ours === undefined && v.jose === undefined) count("both accept");
      else if (v.ours !== undefined && v.jose !== undefined) count("both refuse");
      else if (v.ours === undefined) acceptedOnlyByUs.push(`${v.kind}: jose says ${v.jose}`);
      else {
        const rule = STRICTER.get(v.ours);
        if (rule === undefined) unexplained.push(`${v.kind}: we say "${v.ours}", jose accepts`);
        else count(`only we refuse: ${v.ours}`);
      }
    }
  }
  assert.deepEqual([...new Set(acceptedOnlyByUs)], [], "our verifier accepts nothing jose refuses");
  process.stdout.write(`# ${JSON.stringify(Object.fromEntries(tally))}\n`);
  assert.deepEqual([...new Set(unexplained)], [], "every token only we refuse breaks one of our stricter rules");
  // The corpus reaches every side: valid tokens, shared refusals, and each header rule where we are stricter.
  assert.ok((tally.get("both accept") ?? 0) > CORPUS_SIZE / 20, JSON.stringify([...tally]));
  assert.ok((tally.get("both refuse") ?? 0) > CORPUS_SIZE / 3, JSON.stringify([...tally]));
  for (const rule of ["base64url", "headerCrit", "headerKey", "headerMember", "headerShape", "typ"] as const) {
    assert.ok((tally.get(`only we refuse: ${JWS_REFUSALS[rule]}`) ?? 0) > 0, `the corpus reaches ${rule}: ${JSON.stringify([...tally])}`);
  }
});
