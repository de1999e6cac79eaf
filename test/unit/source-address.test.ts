import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ClientAddressResolver, isAddressOrRange, peerAddress, throttleSource } from "../../src/internal/source-address.js";

describe("throttleSource", () => {
  test("IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 by /64, anything else unknown", () => {
    assert.equal(throttleSource("10.1.2.3"), "10.1.2.3");
    assert.equal(throttleSource("::ffff:10.1.2.3"), "10.1.2.3");
    assert.equal(throttleSource("2001:db8:0:1::5"), "2001:db8:0:1::/64");
    assert.equal(throttleSource("2001:0db8:0000:0001:aaaa:bbbb:cccc:dddd"), "2001:db8:0:1::/64");
    assert.equal(throttleSource("::1"), "0:0:0:0::/64");
    assert.equal(throttleSource("fe80::1%eth0"), "fe80:0:0:0::/64");
    assert.equal(throttleSource("1:2:3:4:5:6:1.2.3.4"), "1:2:3:4::/64");
    assert.equal(throttleSource(undefined), "unknown");
    assert.equal(throttleSource("not-an-address"), "unknown");
  });
});

describe("peerAddress", () => {
  test("grpc-js peer strings and their variants", () => {
    assert.equal(peerAddress("127.0.0.1:51234"), "127.0.0.1");
    assert.equal(peerAddress("::1:51234"), "::1");
    assert.equal(peerAddress("[::1]:51234"), "::1");
    assert.equal(peerAddress("ipv4:10.0.0.1:443"), "10.0.0.1");
    assert.equal(peerAddress("ipv6:[2001:db8::1]:443"), "2001:db8::1");
    assert.equal(peerAddress("10.0.0.1"), "10.0.0.1");
    assert.equal(peerAddress("unknown"), undefined);
    assert.equal(peerAddress(undefined), undefined);
  });
});

describe("throttleSource and peerAddress asked again", () => {
  test("the same answers on every call, and after more inputs than they remember", () => {
    const cases: [string, string, string | undefined][] = [
      ["127.0.0.1:51234", "unknown", "127.0.0.1"],
      ["2001:db8:0:1::5", "2001:db8:0:1::/64", "2001:db8:0:1::5"],
      ["unknown", "unknown", undefined],
      [`${"1".repeat(200)}:1`, "unknown", undefined],
    ];
    for (let round = 0; round < 3; round++) {
      for (const [input, source, peer] of cases) {
        assert.equal(throttleSource(input), source, input);
        assert.equal(peerAddress(input), peer, input);
      }
      for (let i = 0; i < 1500; i++) {
        const address = `10.${(i >> 8) & 255}.${i & 255}.${round}`;
        assert.equal(throttleSource(address), address);
        assert.equal(peerAddress(`${address}:${40000 + i}`), address);
      }
    }
  });
});

describe("ClientAddressResolver (trustedProxies)", () => {
  const xff = (trustedProxies: string[]) => new ClientAddressResolver({ trustedProxies, forwardedHeader: "x-forwarded-for" });
  const fwd = (trustedProxies: string[]) => new ClientAddressResolver({ trustedProxies, forwardedHeader: "forwarded" });

  test("no trusted proxies: always the peer, whatever the header says", () => {
    const r = xff([]);
    assert.equal(r.enabled, false);
    assert.equal(r.resolve("10.0.0.1", ["203.0.113.5"]), "10.0.0.1");
  });

  test("an untrusted peer's header is ignored", () => {
    assert.equal(xff(["10.0.0.0/8"]).resolve("192.0.2.1", ["203.0.113.5"]), "192.0.2.1");
  });

  test("the rightmost untrusted hop, across header lines; trusted hops are skipped", () => {
    const r = xff(["10.0.0.0/8", "2001:db8:ffff::/48"]);
    assert.equal(r.resolve("10.0.0.1", ["203.0.113.5"]), "203.0.113.5");
    assert.equal(r.resolve("10.0.0.1", ["198.51.100.1, 203.0.113.5, 10.2.3.4"]), "203.0.113.5");
    assert.equal(r.resolve("10.0.0.1", ["198.51.100.1", "203.0.113.5 , 10.2.3.4"]), "203.0.113.5");
    assert.equal(r.resolve("::ffff:10.0.0.1", ["2001:db8:ffff::9, 2001:db8:1::1"]), "2001:db8:1::1");
    assert.equal(r.resolve("10.0.0.1", ["10.9.9.9, 10.8.8.8"]), "10.9.9.9", "all trusted: the leftmost");
    assert.equal(r.resolve("10.0.0.1", []), "10.0.0.1", "no header: the peer");
  });

  test("an entry that is no address ends the walk at the trusted hop that passed it on", () => {
    const r = xff(["10.0.0.0/8"]);
    assert.equal(r.resolve("10.0.0.1", ["203.0.113.5, garbage"]), "10.0.0.1");
    assert.equal(r.resolve("10.0.0.1", ["203.0.113.5, unknown, 10.2.3.4"]), "10.2.3.4");
    assert.equal(r.resolve("10.0.0.1", [""]), "10.0.0.1");
  });

  test("Forwarded (RFC 7239): for= nodes, quoted, bracketed IPv6, ports, other parameters; X-Forwarded-For ignored then", () => {
    const r = fwd(["10.0.0.0/8"]);
    assert.equal(r.resolve("10.0.0.1", ['for=198.51.100.1;proto=https, for="[2001:db8::5]:4711";by=10.0.0.1']), "2001:db8::5");
    assert.equal(r.resolve("10.0.0.1", ["for=192.0.2.60:8080", 'For="203.0.113.9"']), "203.0.113.9");
    assert.equal(r.resolve("10.0.0.1", ["for=_hidden"]), "10.0.0.1");
    assert.equal(r.resolve("10.0.0.1", ["proto=http"]), "10.0.0.1", "an element without for=");
    assert.equal(r.resolve("10.0.0.1", ['for="192.0.2.1, 192.0.2.2"']), "10.0.0.1", "a comma inside quotes is no separator");
  });

  test("addresses and ranges are checked", () => {
    for (const ok of ["10.0.0.1", "10.0.0.0/8", "0.0.0.0/0", "::1", "fd00::/8", "::ffff:10.0.0.1", "2001:db8::/128"]) assert.ok(isAddressOrRange(ok), ok);
    for (const bad of ["10.0.0.0/33", "fd00::/129", "10.0.0.0/", "/8", "example.com", "10.0.0.0/8/8", "10.0.0.0/-1", ""])
      assert.ok(!isAddressOrRange(bad), bad);
    assert.throws(() => xff(["nope"]), TypeError);
  });
});
