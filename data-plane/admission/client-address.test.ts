import assert from "node:assert/strict";
import { test } from "node:test";
import { clientAddressKey } from "./client-address.ts";

test("IPv4 counts per address, IPv6 per /64 by default, embedded IPv4 as IPv4", () => {
  assert.equal(clientAddressKey("203.0.113.7"), "203.0.113.7");
  assert.equal(clientAddressKey("::ffff:203.0.113.7"), "203.0.113.7");
  const a = clientAddressKey("2001:db8:1:2:aaaa::1");
  assert.equal(a, clientAddressKey("2001:db8:1:2:ffff:ffff:ffff:ffff"));
  assert.equal(a, clientAddressKey("2001:DB8:1:2::9"), "spelling does not matter");
  assert.notEqual(a, clientAddressKey("2001:db8:1:3::1"));
  assert.equal(a, "20010db8000100020000000000000000/64");
});

test("the IPv6 prefix is configurable; unparsable addresses count as themselves", () => {
  assert.equal(clientAddressKey("2001:db8:1:2::1", 48), clientAddressKey("2001:db8:1:ffff::1", 48));
  assert.notEqual(clientAddressKey("2001:db8:1:2::1", 128), clientAddressKey("2001:db8:1:2::2", 128));
  assert.equal(clientAddressKey(""), "");
  assert.equal(clientAddressKey("not an address"), "not an address");
});
