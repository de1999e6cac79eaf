import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { peerAddress, throttleSource } from "../../src/internal/source-address.js";

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
