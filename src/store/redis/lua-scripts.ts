import { createHash } from "node:crypto";
import type { RedisClient } from "./redis-client.js";

/**
 * A Lua script run with EVALSHA, falling back to EVAL (which caches it) when
 * the server does not know it yet (NOSCRIPT: first use, restart, a new
 * Cluster node). Every key a script touches is passed in KEYS, and the keys of
 * one call share a hash tag, so scripts run unchanged on a Cluster.
 */
export class LuaScript {
  readonly sha: string;
  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha = createHash("sha1").update(source).digest("hex");
  }

  async run(client: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!isNoScript(err)) throw err;
      return client.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}

export function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith("NOSCRIPT");
}

/** Redis' clock in epoch milliseconds: every expiry decision inside a script uses the server's time. */
const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * Revokes a token, atomically: drops its cached introspection answers, sets
 * the deny-list entry until the revocation ends, indexes it among the
 * revocations in force, and appends it to the feed with the next sequence
 * number (the feed is capped at ARGV[5] entries). A token already revoked at
 * least as long is left as it is (nothing new is pushed).
 *
 * A client-wide cut-off (ARGV[6], issued-before in ms, not empty) keeps that
 * time as the deny entry's value, and the later time and end of the one held
 * and the new one; its member in the index is ARGV[2] without its closing
 * bracket, then "," and the time, then "]" (ARGV[7] is that prefix up to the
 * comma), so that the member it replaces can be removed. Its feed entry
 * carries the time as `ib`.
 * KEYS: deny, introspection, revoked, feed, seq. ARGV: end (ms), member, iss, jti, feed length, issued-before (ms) or '', member prefix.
 * Returns the feed sequence number, or 0 when nothing was pushed.
 */
export const REVOKE = new LuaScript(
  "revoke",
  `${NOW_MS}
local ends = tonumber(ARGV[1])
local endsText = ARGV[1]
local before = ARGV[6] or ''
local member = ARGV[2]
redis.call('DEL', KEYS[2])
if ends <= now then return 0 end
local ttl = redis.call('PTTL', KEYS[1])
if before == '' then
  if ttl == -1 or (ttl >= 0 and now + ttl >= ends) then return 0 end
  redis.call('SET', KEYS[1], '1', 'PXAT', endsText)
else
  local held = redis.call('GET', KEYS[1])
  if held and ttl >= 0 then
    if tonumber(held) >= tonumber(before) and now + ttl >= ends then return 0 end
    redis.call('ZREM', KEYS[3], ARGV[7] .. held .. ']')
    if tonumber(held) > tonumber(before) then before = held end
    if now + ttl > ends then
      ends = now + ttl
      endsText = string.format('%d', ends)
    end
  end
  member = ARGV[7] .. before .. ']'
  redis.call('SET', KEYS[1], before, 'PXAT', endsText)
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', string.format('%d', now))
redis.call('ZADD', KEYS[3], endsText, member)
local seq = redis.call('INCR', KEYS[5])
if before == '' then
  redis.call('XADD', KEYS[4], 'MAXLEN', ARGV[5], '*', 'seq', seq, 'iss', ARGV[3], 'jti', ARGV[4], 'exp', endsText)
else
  redis.call('XADD', KEYS[4], 'MAXLEN', ARGV[5], '*', 'seq', seq, 'iss', ARGV[3], 'jti', ARGV[4], 'exp', endsText, 'ib', before)
end
return seq`,
);

/**
 * The starting point of a feed subscription, in one atomic read: the
 * revocations in force (member, end in ms, …), the id of the feed's last
 * entry ("0-0" when empty), the sequence counter and the revocation epoch
 * marker ('' when unset). Everything after that entry is new to the subscriber.
 * KEYS: revoked, feed, seq, epoch.
 */
export const FEED_SNAPSHOT = new LuaScript(
  "feed-snapshot",
  `${NOW_MS}
local inforce = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. string.format('%d', now), '+inf', 'WITHSCORES')
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local lastId = '0-0'
if #last > 0 then lastId = last[1][1] end
local seq = tonumber(redis.call('GET', KEYS[3]) or '0')
local epoch = redis.call('GET', KEYS[4]) or ''
return {lastId, seq, inforce, epoch}`,
);

/**
 * After a lost connection: whether the feed still holds the subscriber's last
 * entry (id ARGV[1] with sequence ARGV[2]), so that reading on from it misses
 * nothing. Returns 1 when it does, 0 when the subscriber must start over from
 * a snapshot (the entry was trimmed, or Redis lost or replaced its data).
 * KEYS: feed.
 */
export const FEED_INTACT = new LuaScript(
  "feed-intact",
  `if ARGV[1] == '0-0' then return 1 end
local entry = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #entry == 0 then return 0 end
local fields = entry[1][2]
for i = 1, #fields, 2 do
  if fields[i] == 'seq' then
    if fields[i + 1] == ARGV[2] then return 1 end
    return 0
  end
end
return 0`,
);

/**
 * Compare-and-set of the signing-key ring: stores the new document, version
 * and epoch only if the stored epoch and version are still the expected ones
 * (an absent ring: epoch '' and version 0), then tells the other replicas.
 * KEYS: ring, version, epoch. ARGV: expected epoch, expected version, document
 * JSON, new version, new epoch, channel. Returns 1 when stored, 0 otherwise.
 */
export const WRITE_RING = new LuaScript(
  "key-ring-write",
  `local e = redis.call('GET', KEYS[3]) or ''
local v = tonumber(redis.call('GET', KEYS[2]) or '0')
if e ~= ARGV[1] or v ~= tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], ARGV[4])
if ARGV[5] == '' then redis.call('DEL', KEYS[3]) else redis.call('SET', KEYS[3], ARGV[5]) end
redis.call('PUBLISH', ARGV[6], ARGV[4])
return 1`,
);

/** Lua: whether the token (KEYS[1]) is revoked or its client's cut-off (KEYS[3], issuedBefore in ms) covers its iat (ms, ARGV[n]). */
function revokedOrCutOff(iatArg: number): string {
  return `local function revoked()
  if redis.call('EXISTS', KEYS[1]) == 1 then return true end
  local cut = redis.call('GET', KEYS[3])
  return cut ~= false and tonumber(ARGV[${iatArg}]) < tonumber(cut)
end`;
}

/**
 * Reads a cached introspection answer, consulting the deny-list first: the
 * token's entry and its client's cut-off.
 * KEYS: deny, introspection, the client's deny entry. ARGV: caller, the token's iat (ms).
 * Returns {1} when revoked, {0} on a miss, {0, value} on a hit.
 */
export const CACHE_LOOKUP = new LuaScript(
  "introspection-lookup",
  `${revokedOrCutOff(2)}
if revoked() then return {1} end
local entry = redis.call('HGET', KEYS[2], ARGV[1])
if not entry then return {0} end
local sep = string.find(entry, ':', 1, true)
${NOW_MS}
if not sep or tonumber(string.sub(entry, 1, sep - 1)) <= now then return {0} end
return {0, string.sub(entry, sep + 1)}`,
);

/**
 * Caches an introspection answer unless the token is revoked or its client
 * cut off, atomically with REVOKE (same slot): a revocation either comes
 * first and the fill does nothing, or comes after and deletes the entry (a
 * cut-off leaves it, and CACHE_LOOKUP refuses it). The entry ends at
 * min(now + TTL, token exp); the hash lives as long as its longest entry.
 * KEYS: deny, introspection, the client's deny entry. ARGV: caller, value,
 * token exp (ms), TTL (ms), the token's iat (ms).
 * Returns 0 when revoked (nothing cached), 1 otherwise.
 */
export const CACHE_STORE = new LuaScript(
  "introspection-store",
  `${revokedOrCutOff(5)}
if revoked() then return 0 end
${NOW_MS}
local ends = math.min(now + tonumber(ARGV[4]), tonumber(ARGV[3]))
if ends <= now then return 1 end
redis.call('HSET', KEYS[2], ARGV[1], string.format('%d', ends) .. ':' .. ARGV[2])
local ttl = redis.call('PTTL', KEYS[2])
if ttl < 0 or now + ttl < ends then redis.call('PEXPIREAT', KEYS[2], string.format('%d', ends)) end
return 1`,
);

/**
 * Counts one failed authentication; the window starts at the first failure.
 * At or past the threshold, every replica is told (PUBLISH on ARGV[3]: the
 * counter's name and the window's remaining ms), so that none has to ask
 * Redis before checking credentials; telling again on each later failure
 * reaches a replica that started or reconnected since.
 * KEYS: counter. ARGV: window (ms), threshold, channel. Returns {count, remaining ms or 0}.
 */
export const COUNT_FAILURE = new LuaScript(
  "count-failure",
  `local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local left = 0
if n >= tonumber(ARGV[2]) then
  left = redis.call('PTTL', KEYS[1])
  redis.call('PUBLISH', ARGV[3], KEYS[1] .. ' ' .. left)
end
return {n, left}`,
);

/**
 * Leases up to ARGV[3] requests of a fixed window that starts at the first
 * lease: the counter holds what every replica has leased, never more than the
 * limit, so that what replicas admit from their leases never exceeds it.
 * An expiry lost (a counter without one) is set again.
 * KEYS: counter. ARGV: window (ms), limit, lease size.
 * Returns {requests leased (0: the limit is used up), the window's remaining ms}.
 */
export const LEASE_RATE_LIMIT = new LuaScript(
  "lease-rate-limit",
  `local window = tonumber(ARGV[1])
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local left = redis.call('PTTL', KEYS[1])
if used > 0 and left < 0 then
  redis.call('PEXPIRE', KEYS[1], window)
  left = window
end
local lease = math.min(tonumber(ARGV[3]), tonumber(ARGV[2]) - used)
if lease <= 0 then
  if left < 1 then left = 1 end
  return {0, left}
end
redis.call('INCRBY', KEYS[1], lease)
if used == 0 then
  redis.call('PEXPIRE', KEYS[1], window)
  left = window
end
return {lease, left}`,
);

/**
 * Compare-and-set of one client of the admin API: stores its document if its
 * stored version is still ARGV[2] (0: absent), under the next value of the
 * clients' counter, and tells every replica (`<version>\n<id>\n<document>`).
 * KEYS: documents, versions, seq (hash tag {clients}). ARGV: id, expected
 * version, document JSON, channel. Returns the new version, or 0.
 */
export const WRITE_CLIENT = new LuaScript(
  "client-write",
  `local v = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if v ~= tonumber(ARGV[2]) then return 0 end
local n = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], n)
redis.call('PUBLISH', ARGV[4], n .. '\\n' .. ARGV[1] .. '\\n' .. ARGV[3])
return n`,
);

/**
 * Removes one client of the admin API if its stored version is still ARGV[2],
 * and tells every replica (`<version>\n<id>\n`, no document).
 * KEYS: documents, versions, seq. ARGV: id, expected version, channel.
 * Returns the version of the removal, or 0.
 */
export const REMOVE_CLIENT = new LuaScript(
  "client-remove",
  `local v = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if v == 0 or v ~= tonumber(ARGV[2]) then return 0 end
local n = redis.call('INCR', KEYS[3])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[3], n .. '\\n' .. ARGV[1] .. '\\n')
return n`,
);

/**
 * One client's document and version, read together. KEYS: documents,
 * versions. ARGV: id. Returns {document or false, version or false}.
 */
export const READ_CLIENT = new LuaScript("client-read", `return {redis.call('HGET', KEYS[1], ARGV[1]), redis.call('HGET', KEYS[2], ARGV[1])}`);

/**
 * Every client of the admin API, atomically read with the counter: a change
 * published after it carries a higher version.
 * KEYS: documents, versions, seq. Returns {seq, documents (id, JSON, …), versions (id, n, …)}.
 */
export const CLIENTS_SNAPSHOT = new LuaScript(
  "clients-snapshot",
  `return {tonumber(redis.call('GET', KEYS[3]) or '0'), redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2])}`,
);

/**
 * Raises the clients' counter to at least ARGV[1]: after Redis lost the
 * clients, a replica re-seeds them from its copy, and their new versions must
 * be above every version the replicas hold. KEYS: seq.
 */
export const RAISE_CLIENTS_SEQ = new LuaScript(
  "clients-raise-seq",
  `local s = tonumber(redis.call('GET', KEYS[1]) or '0')
if s < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1`,
);
