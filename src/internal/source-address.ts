import { isIP } from "node:net";

/**
 * The address a request came from as a throttling bucket: an IPv4 address
 * (also when IPv4-mapped in IPv6), or the /64 of an IPv6 address (one host
 * usually holds a whole /64, so it counts as one source). Anything else,
 * including no address, is "unknown".
 */
export function throttleSource(address: string | undefined): string {
  if (address === undefined) return "unknown";
  const ip = address.replace(/^\[|\]$/g, "").split("%")[0]!;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  const family = isIP(ip);
  if (family === 4) return ip;
  if (family !== 6) return "unknown";
  const [head, tail] = ip.split("::") as [string, string | undefined];
  const h = head === "" ? [] : head.split(":");
  const t = tail === undefined || tail === "" ? [] : tail.split(":");
  // An embedded IPv4 tail (e.g. 64:ff9b::1.2.3.4) takes two groups.
  const tailGroups = t.length + (t.at(-1)?.includes(".") ? 1 : 0);
  const groups = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - tailGroups)).fill("0"), ...t];
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(":")}::/64`;
}

/**
 * The IP address of a gRPC peer string ("127.0.0.1:51234", "::1:51234",
 * "[::1]:51234", "ipv4:…", "ipv6:[…]:…"), or undefined when there is none.
 */
export function peerAddress(peer: string | undefined): string | undefined {
  if (peer === undefined) return undefined;
  const value = peer.replace(/^ipv[46]:/, "");
  if (isIP(value)) return value;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
  if (bracketed && isIP(bracketed[1]!)) return bracketed[1];
  const colon = value.lastIndexOf(":");
  if (colon > 0 && /^\d+$/.test(value.slice(colon + 1)) && isIP(value.slice(0, colon))) return value.slice(0, colon);
  return undefined;
}
