import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";

/**
 * A workload identity provider made here: a key pair of its own, its JWKS
 * served over HTTP on 127.0.0.1, and tokens shaped as a Kubernetes projected
 * service-account token or a SPIFFE JWT-SVID. Close it in after().
 */
export interface WorkloadIssuer {
  /** The `iss` its tokens carry. */
  readonly issuer: string;
  /** Where its JWKS is served (http on loopback). */
  readonly jwksUri: string;
  readonly publicJwk: JWK;
  /**
   * A Kubernetes projected service-account token (what the kubelet writes to
   * a projected volume with `audience`): RS256, kid, no typ, aud an array,
   * iat/nbf/exp, the kubernetes.io claims, no jti.
   */
  kubernetesToken(options: {
    namespace: string;
    serviceAccount: string;
    audience: string;
    lifetimeSeconds?: number;
    now?: number;
    jti?: string;
  }): Promise<string>;
  /** A SPIFFE JWT-SVID: sub a SPIFFE ID, aud an array, exp and iat, no jti. */
  spiffeSvid(options: { spiffeId: string; audience: string; lifetimeSeconds?: number; now?: number; jti?: string }): Promise<string>;
  /** Any claims, signed with this issuer's key. */
  sign(claims: Record<string, unknown>, kid?: string): Promise<string>;
  close(): Promise<void>;
}

/** Starts a workload issuer; `issuer` is its iss (a Kubernetes API server URL or a SPIRE OIDC discovery URL). */
export async function startWorkloadIssuer(issuer: string, alg: "RS256" | "ES256" = "RS256"): Promise<WorkloadIssuer> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `workload-${randomUUID().slice(0, 8)}`;
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  const server: Server = createServer((req, res) => {
    if (req.url === "/openid/v1/jwks") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ keys: [publicJwk] }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const sign = (claims: Record<string, unknown>, keyId = kid, key: CryptoKey = privateKey) =>
    new SignJWT(claims).setProtectedHeader({ alg, kid: keyId }).sign(key);
  const seconds = (now: number | undefined) => now ?? Math.floor(Date.now() / 1000);
  return {
    issuer,
    jwksUri: `http://127.0.0.1:${port}/openid/v1/jwks`,
    publicJwk,
    kubernetesToken: ({ namespace, serviceAccount, audience, lifetimeSeconds = 3600, now, jti }) => {
      const iat = seconds(now);
      return sign({
        aud: [audience],
        exp: iat + lifetimeSeconds,
        iat,
        iss: issuer,
        ...(jti === undefined ? {} : { jti }),
        "kubernetes.io": {
          namespace,
          node: { name: "node-1", uid: randomUUID() },
          pod: { name: `${serviceAccount}-7d9f8b6c5-x2x9k`, uid: randomUUID() },
          serviceaccount: { name: serviceAccount, uid: randomUUID() },
        },
        nbf: iat,
        sub: `system:serviceaccount:${namespace}:${serviceAccount}`,
      });
    },
    spiffeSvid: ({ spiffeId, audience, lifetimeSeconds = 300, now, jti }) => {
      const iat = seconds(now);
      return sign({ aud: [audience], exp: iat + lifetimeSeconds, iat, iss: issuer, sub: spiffeId, ...(jti === undefined ? {} : { jti }) });
    },
    sign: (claims, keyId) => sign(claims, keyId),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
