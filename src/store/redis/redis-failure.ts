/** Why Redis could not be used, in the words an operator acts on. */
export type RedisFailureKind =
  | "host_not_found"
  | "connection_refused"
  | "auth_failed"
  | "auth_required"
  | "bad_db_index"
  | "timeout"
  | "connection_closed"
  | "other";

export interface RedisFailure {
  readonly kind: RedisFailureKind;
  /** One line for the log: what failed, where, and what to check. Never the URL (it may hold a password). */
  readonly message: string;
}

const HINTS: Record<RedisFailureKind, string> = {
  host_not_found: "the host name does not resolve: check the host in REDIS_URL / redis.*",
  connection_refused: "nothing accepts connections there: is Redis running, on that port?",
  auth_failed: "Redis refused the user name or password (WRONGPASS): check the credentials",
  auth_required: "Redis requires a password and none was sent (NOAUTH): set it in REDIS_URL or redis.password",
  bad_db_index: "Redis refused the database index of REDIS_URL: use one below its `databases` setting",
  timeout: "Redis did not answer in time: check the network path and the server's load",
  connection_closed: "the connection to Redis closed",
  other: "Redis failed",
};

/** Classifies an ioredis or socket error; `where` is host:port when known. */
export function classifyRedisFailure(err: unknown, where: string | undefined): RedisFailure {
  const e = (err ?? {}) as { code?: unknown; message?: unknown; hostname?: unknown; address?: unknown; port?: unknown };
  const code = typeof e.code === "string" ? e.code : "";
  const text = typeof e.message === "string" ? e.message : String(err);
  let kind: RedisFailureKind = "other";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") kind = "host_not_found";
  else if (code === "ECONNREFUSED") kind = "connection_refused";
  else if (/^WRONGPASS\b|invalid password|invalid username-password/i.test(text)) kind = "auth_failed";
  else if (/^NOAUTH\b/.test(text)) kind = "auth_required";
  else if (/DB index is out of range|invalid DB index/i.test(text)) kind = "bad_db_index";
  else if (code === "ETIMEDOUT" || /timed? ?out|no answer within/i.test(text)) kind = "timeout";
  else if (/connection is closed|stream isn't writeable/i.test(text)) kind = "connection_closed";
  const at =
    typeof e.hostname === "string" ? e.hostname : typeof e.address === "string" ? `${e.address}${typeof e.port === "number" ? `:${e.port}` : ""}` : where;
  const label = code !== "" && kind !== "other" ? ` (${code})` : "";
  const hint = kind === "other" ? `${HINTS.other}: ${text.split("\n")[0]!.slice(0, 200)}` : HINTS[kind];
  return { kind, message: `redis ${at === undefined ? "" : `at ${at} `}unavailable${label}: ${hint}` };
}
