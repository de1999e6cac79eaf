import { createHash } from "node:crypto";
import { clientRevocationJti } from "../revocation-kinds.js";

/** A fixed-length, brace-free name for any string: keys never carry raw input (nor a secret, should one be passed by mistake). */
export function keyId(...parts: string[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(`${Buffer.byteLength(part)}:${part}`);
  return hash.digest("base64url");
}

/**
 * Where Tessera keeps its state in Redis, under its own prefix (default
 * "tessera:"; never ioredis' keyPrefix option, which scripts would not see).
 *
 * Everything about revocations shares the hash tag `{rev}`, so that it lives
 * in one Cluster slot and the Lua scripts can update it atomically: the
 * deny-list entry of a token, the token's cached introspection answers, the
 * index of revocations in force and the feed. Replay records and failure
 * counts have no tag: each is one key, spread over the cluster.
 */
export class KeyLayout {
  constructor(readonly prefix: string) {
    if (/[{}]/.test(prefix)) throw new Error("the key prefix must not contain { or }");
  }

  /** String "1" with PXAT at the revocation's end: the token (issuer, jti) is revoked. */
  deny(issuer: string, jti: string): string {
    return `${this.prefix}{rev}:deny:${keyId(issuer, jti)}`;
  }
  /** Hash, caller → "<expires at, ms>:<answer>": cached introspection answers of one token. */
  introspection(issuer: string, jti: string): string {
    return `${this.prefix}{rev}:introspect:${keyId(issuer, jti)}`;
  }
  /** deny() and introspection() of one token, its id hashed once: the pair every cache script takes. */
  tokenKeys(issuer: string, jti: string): [deny: string, introspection: string] {
    const id = keyId(issuer, jti);
    return [`${this.prefix}{rev}:deny:${id}`, `${this.prefix}{rev}:introspect:${id}`];
  }
  /**
   * tokenKeys() and the deny-list entry of the token's client (its cut-off, see clientRevocationJti): the
   * keys every introspection-cache script takes, all in the {rev} slot.
   */
  introspectionKeys(issuer: string, jti: string, clientId: string): [deny: string, introspection: string, clientCutOff: string] {
    return [...this.tokenKeys(issuer, jti), this.deny(issuer, clientRevocationJti(clientId))];
  }
  /** Sorted set of revocations in force: member JSON [issuer, jti], score = end (epoch ms). */
  get revoked(): string {
    return `${this.prefix}{rev}:revoked`;
  }
  /** Stream of revocations (fields seq, iss, jti, exp), capped in length: the push and catch-up log. */
  get feed(): string {
    return `${this.prefix}{rev}:feed`;
  }
  /** Counter of revocations ever pushed: each feed entry carries the next value, so a gap shows. */
  get feedSeq(): string {
    return `${this.prefix}{rev}:seq`;
  }
  /**
   * String, no expiry: a random id set by the first replica that finds it absent. It disappears only
   * when Redis loses the {rev} slot's data (a restart without persistence, a failover to an empty
   * replica, FLUSHALL), which tells the replicas to re-seed the revocations they hold in memory.
   */
  get revocationEpoch(): string {
    return `${this.prefix}{rev}:epoch`;
  }
  /** String with PXAT: a single-use record (e.g. a client assertion's jti) is used. */
  replay(record: string): string {
    return `${this.prefix}replay:${keyId(record)}`;
  }
  /** Counter with PEXPIRE: failed authentications of (client, source) in the current window. */
  authFailures(clientId: string, source: string): string {
    return `${this.prefix}authfail:${keyId(clientId, source)}`;
  }
  /**
   * Counter with PEXPIRE: requests of `subject` under the rate limit `name` in
   * the current window. A subject's counters share a hash tag (one Cluster
   * slot), so that a script may check several of its limits at once; the
   * subjects themselves spread over the cluster.
   */
  rateLimit(name: string, subject: string): string {
    return `${this.prefix}{ratelimit:${keyId(subject)}}:${keyId(name)}`;
  }
  /**
   * The clients of the admin API, under the hash tag {clients}: a hash of
   * documents (client id → JSON), a hash of versions (client id → version)
   * and the counter every write takes its version from.
   */
  get clients(): [documents: string, versions: string, seq: string] {
    return [`${this.prefix}{clients}:documents`, `${this.prefix}{clients}:versions`, `${this.prefix}{clients}:seq`];
  }
  /** Pub/sub channel: a client of the admin API changed ("<version>\n<id>\n<document or nothing>"). */
  get clientChanges(): string {
    return `${this.prefix}clients:changed`;
  }
  /** Pub/sub channel: a (client, source) counter reached the threshold ("<counter> <remaining ms>"). */
  get authBlocks(): string {
    return `${this.prefix}authfail-blocks`;
  }
}
