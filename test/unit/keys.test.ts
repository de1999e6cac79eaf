import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair } from "jose";
import { generateSigningKey, importSigningKey, loadSigningKeyFile, publicMembers } from "../../src/keys/signing-key.js";
import { MemoryKeyStore } from "../../src/keys/key-store.js";

const dir = mkdtempSync(join(tmpdir(), "tessera-keys-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("signing keys", () => {
  for (const alg of ["ES256", "EdDSA", "RS256"] as const) {
    test(`${alg}: generated key publishes public members only, kid = RFC 7638 thumbprint`, async () => {
      const key = await generateSigningKey(alg);
      for (const member of ["d", "p", "q", "dp", "dq", "qi", "k", "key_ops", "ext"]) assert.ok(!(member in key.publicJwk), member);
      assert.equal(key.publicJwk.alg, alg);
      assert.equal(key.publicJwk.use, "sig");
      assert.equal(key.kid, await calculateJwkThumbprint(publicMembers(await exportJWK(key.publicKey))));
    });
  }

  test("imports a PKCS#8 PEM file and a JWK file to the same kid", async () => {
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    const pemPath = join(dir, "key.pem");
    const jwkPath = join(dir, "key.jwk");
    writeFileSync(pemPath, await exportPKCS8(privateKey));
    writeFileSync(jwkPath, JSON.stringify(await exportJWK(privateKey)));
    const fromPem = await loadSigningKeyFile(pemPath, "ES256");
    const fromJwk = await loadSigningKeyFile(jwkPath, "ES256");
    assert.equal(fromPem.kid, fromJwk.kid);
    assert.ok(!("d" in fromJwk.publicJwk));
  });

  test("a public JWK or a key of the wrong type is refused without echoing the material", async () => {
    const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
    const pem = await exportPKCS8(privateKey);
    const path = join(dir, "wrong.pem");
    writeFileSync(path, pem);
    await assert.rejects(loadSigningKeyFile(path, "RS256"), (err: Error) => {
      assert.match(err.message, /does not hold a RS256 private key/);
      assert.ok(!err.message.includes(pem.split("\n")[1]!));
      return true;
    });
    await assert.rejects(importSigningKey(JSON.stringify(await exportJWK(publicKey)), "ES256"));
    await assert.rejects(loadSigningKeyFile(join(dir, "missing.pem"), "ES256"), /cannot read .* \(ENOENT\)$/);
    await assert.rejects(loadSigningKeyFile(dir, "ES256"), /cannot read .* \(EISDIR\)$/);
  });

  test("the key store signs with exactly one active key and publishes next and retired keys", async () => {
    const [next, active, retired] = await Promise.all([generateSigningKey("ES256"), generateSigningKey("ES256"), generateSigningKey("ES256")]);
    const store = new MemoryKeyStore([
      { key: next, state: "next" },
      { key: active, state: "active" },
      { key: retired, state: "retired" },
    ]);
    assert.equal(store.signingKey().kid, active.kid);
    assert.deepEqual(
      store
        .publicJwks()
        .map((k) => k.kid)
        .sort(),
      [next.kid, active.kid, retired.kid].sort(),
    );
    assert.ok(store.verificationKey(retired.kid));
    assert.equal(store.verificationKey("nope"), undefined);
    assert.throws(() => new MemoryKeyStore([{ key: next, state: "next" }]));
  });
});
