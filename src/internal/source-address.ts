import { BlockList, isIP } from "node:net";
import { stringMemo } from "./string-memo.js";

/**
 * The address a request came from as a throttling bucket: an IPv4 address
 * (also when IPv4-mapped in IPv6), or the /64 of an IPv6 address (one host
 * usually holds a whole /64, so it counts as one source). Anything else,
 * including no address, is "unknown".
 */
export function throttleSource(address: string | undefined): string {
  if (address === undefined) return "unknown";
  return throttleSourceOf(address);
}

function sourceOfAddress(address: string): string {
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
  return peer === undefined ? undefined : peerAddressOf(peer);
}

function addressOfPeer(peer: string): string | undefined {
  const value = peer.replace(/^ipv[46]:/, "");
  if (isIP(value)) return value;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
  if (bracketed && isIP(bracketed[1]!)) return bracketed[1];
  const colon = value.lastIndexOf(":");
  if (colon > 0 && /^\d+$/.test(value.slice(colon + 1)) && isIP(value.slice(0, colon))) return value.slice(0, colon);
  return undefined;
}

const throttleSourceOf = stringMemo(sourceOfAddress, { maxLength: 128 });
const peerAddressOf = stringMemo(addressOfPeer, { maxLength: 128 });

/** The address without brackets or zone, IPv4-mapped IPv6 as IPv4; undefined when it is no IP address. */
export function normalizeAddress(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  const ip = address
    .trim()
    .replace(/^\[|\]$/g, "")
    .split("%")[0]!;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped && isIP(mapped[1]!) === 4) return mapped[1]!;
  return isIP(ip) === 0 ? undefined : ip.toLowerCase();
}

/** Whether `text` is an IP address or a CIDR range ("10.0.0.0/8", "fd00::/8"), as trustedProxies accepts. */
export function isAddressOrRange(text: string): boolean {
  return addRange(new BlockList(), text);
}

function addRange(list: BlockList, text: string): boolean {
  const [address, prefix, ...rest] = text.trim().split("/");
  const ip = normalizeAddress(address);
  if (ip === undefined || rest.length > 0) return false;
  const family = isIP(ip) === 4 ? "ipv4" : "ipv6";
  if (prefix === undefined) {
    list.addAddress(ip, family);
    return true;
  }
  const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
  if (!(bits >= 0 && bits <= (family === "ipv4" ? 32 : 128))) return false;
  list.addSubnet(ip, bits, family);
  return true;
}

/** The proxies whose forwarded header is believed, and which header that is. */
export interface TrustedProxyOptions {
  /** IP addresses and CIDR ranges. Empty: none. */
  readonly trustedProxies: readonly string[];
  readonly forwardedHeader: "x-forwarded-for" | "forwarded";
}

/**
 * Works out the client's address behind trusted proxies. Only when the TCP
 * peer is a trusted proxy is the forwarded header read: the client is then the
 * rightmost address of [header…, peer] that is not a trusted proxy (each proxy
 * appends the peer it saw, so everything left of that is whatever the client
 * wrote). An entry that is not an IP address ("unknown", an obfuscated name,
 * garbage) ends the walk at the trusted hop that passed it on, so a client
 * can never pick its own address. Without trusted proxies, the peer as it is.
 */
export class ClientAddressResolver {
  readonly #trusted = new BlockList();
  readonly #any: boolean;
  readonly header: "x-forwarded-for" | "forwarded";

  constructor(options: TrustedProxyOptions) {
    for (const entry of options.trustedProxies) {
      if (!addRange(this.#trusted, entry)) throw new TypeError(`not an IP address or CIDR range: ${entry}`);
    }
    this.#any = options.trustedProxies.length > 0;
    this.header = options.forwardedHeader;
  }

  /** Whether any proxy is trusted (else `resolve` returns the peer as it is). */
  get enabled(): boolean {
    return this.#any;
  }

  /** Whether `address` is a trusted proxy. */
  isTrusted(address: string | undefined): boolean {
    const ip = normalizeAddress(address);
    return ip !== undefined && this.#any && this.#trusted.check(ip, isIP(ip) === 4 ? "ipv4" : "ipv6");
  }

  /**
   * The client address of a request from TCP peer `peer`, given every value
   * of the forwarded header (in order; one entry per header line or list element).
   */
  resolve(peer: string | undefined, headerValues: readonly string[] | undefined): string | undefined {
    if (!this.#any || headerValues === undefined || headerValues.length === 0 || !this.isTrusted(peer)) return peer;
    const hops = this.header === "forwarded" ? forwardedFor(headerValues) : xForwardedFor(headerValues);
    let client = normalizeAddress(peer);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normalizeAddress(hops[i]);
      if (hop === undefined) break;
      client = hop;
      if (!this.isTrusted(hop)) break;
    }
    return client;
  }
}

/** The addresses of X-Forwarded-For lines, left to right. */
function xForwardedFor(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(",")).map((s) => s.trim());
}

/** The `for=` node of each RFC 7239 forwarded-element, left to right ("" when an element has none). */
function forwardedFor(values: readonly string[]): string[] {
  const nodes: string[] = [];
  for (const value of values) {
    for (const element of splitOutsideQuotes(value, ",")) {
      let node = "";
      for (const pair of splitOutsideQuotes(element, ";")) {
        const eq = pair.indexOf("=");
        if (eq > 0 && pair.slice(0, eq).trim().toLowerCase() === "for") node = forwardedNode(pair.slice(eq + 1).trim());
      }
      nodes.push(node);
    }
  }
  return nodes;
}

/** An RFC 7239 node's address: quotes, brackets and port removed ("192.0.2.1:80", "\"[2001:db8::1]:80\""). */
function forwardedNode(raw: string): string {
  const value = raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2 ? raw.slice(1, -1) : raw;
  const bracketed = /^\[([^\]]+)\](?::[\w]+)?$/.exec(value);
  if (bracketed) return bracketed[1]!;
  const v4 = /^(\d+\.\d+\.\d+\.\d+)(?::[\w]+)?$/.exec(value);
  return v4 ? v4[1]! : value;
}

function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' && text[i - 1] !== "\\") quoted = !quoted;
    if (c === separator && !quoted) {
      parts.push(current.trim());
      current = "";
    } else current += c;
  }
  parts.push(current.trim());
  return parts;
}
