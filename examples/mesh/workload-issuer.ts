// The example mesh's stand-in for a Kubernetes cluster's service-account
// issuer: a key pair generated at start, its JWKS served on 127.0.0.1 (as the
// API server serves /openid/v1/jwks), and projected service-account tokens
// written to files and rewritten at 80 % of their lifetime, as the kubelet
// does for a projected volume with an `audience`. A workload reads its file
// for every request to Tessera and holds no secret of Tessera's.
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

/** What a pod spec's projected serviceAccountToken source says. */
export interface ProjectedToken {
  namespace: string;
  serviceAccount: string;
  /** The token's only audience: Tessera's issuer. */
  audience: string;
  /** Where the token is written (mode 0600). */
  path: string;
  /** expirationSeconds; default 3600, the kubelet's default. */
  lifetimeSeconds?: number;
}

export interface WorkloadIssuer {
  /** The `iss` of its tokens. */
  readonly issuer: string;
  /** Where its JWKS is served: http on 127.0.0.1. */
  readonly jwksUri: string;
  /** Writes a token now and again at 80 % of its lifetime, until close(). */
  project(token: ProjectedToken): Promise<void>;
  close(): Promise<void>;
}

/** Starts the issuer `issuer` (e.g. https://kubernetes.default.svc.cluster.local) with a new RS256 key. */
export async function startWorkloadIssuer(issuer: string): Promise<WorkloadIssuer> {
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const kid = `mesh-${randomUUID().slice(0, 8)}`;
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" }] });
  const server: Server = createServer((req, res) => {
    if (req.url === "/openid/v1/jwks") res.writeHead(200, { "content-type": "application/json" }).end(jwks);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  // The shape the kubelet writes: aud an array, iat/nbf/exp, the kubernetes.io claims, no jti.
  const mint = ({ namespace, serviceAccount, audience, lifetimeSeconds = 3600 }: ProjectedToken) => {
    const iat = Math.floor(Date.now() / 1000);
    return new SignJWT({
      aud: [audience],
      "kubernetes.io": { namespace, pod: { name: `${serviceAccount}-0`, uid: randomUUID() }, serviceaccount: { name: serviceAccount, uid: randomUUID() } },
      sub: `system:serviceaccount:${namespace}:${serviceAccount}`,
    })
      .setProtectedHeader({ alg: "RS256", kid })
      .setIssuer(issuer)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + lifetimeSeconds)
      .sign(privateKey);
  };

  const project = async (token: ProjectedToken): Promise<void> => {
    const jwt = await mint(token);
    if (closed) return;
    writeFileSync(token.path, jwt, { mode: 0o600 });
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        void project(token);
      },
      (token.lifetimeSeconds ?? 3600) * 800,
    );
    timer.unref();
    timers.add(timer);
  };

  return {
    issuer,
    jwksUri: `http://127.0.0.1:${port}/openid/v1/jwks`,
    project,
    close: () =>
      new Promise<void>((resolve) => {
        closed = true;
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
