// Signs an RFC 7523 client assertion (private_key_jwt) with jose.
// Usage: node sign-assertion.mjs <client_id> <private-key.pem> <issuer> [kid]
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { importPKCS8, SignJWT } from "jose";

const [clientId, keyFile, issuer, kid] = process.argv.slice(2);
if (!clientId || !keyFile || !issuer) {
  console.error("usage: node sign-assertion.mjs <client_id> <private-key.pem> <issuer> [kid]");
  process.exit(2);
}
const key = await importPKCS8(readFileSync(keyFile, "utf8"), "ES256");
const assertion = await new SignJWT({})
  .setProtectedHeader({ alg: "ES256", ...(kid ? { kid } : {}) })
  .setIssuer(clientId) // iss = sub = the client id
  .setSubject(clientId)
  .setAudience(issuer) // aud = the issuer identifier, nothing else
  .setIssuedAt()
  .setExpirationTime("60s") // short-lived: at most 5 minutes are accepted
  .setJti(randomUUID()) // single-use
  .sign(key);
process.stdout.write(`${assertion}\n`);
