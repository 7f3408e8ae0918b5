import { isIPv4 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';
import { isBlockedAddress } from './address-guard.js';

describe('the request-forgery guard', () => {
  it.each([
    ['0.0.0.0', '"this network"'],
    ['0.255.255.255', '"this network", last address'],
    ['10.0.0.1', 'private 10/8'],
    ['10.255.255.255', 'private 10/8, last address'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT, last address'],
    ['127.0.0.1', 'loopback'],
    ['127.8.9.10', 'loopback, anywhere in 127/8'],
    ['169.254.169.254', 'the cloud metadata service'],
    ['169.254.0.1', 'link-local'],
    ['172.16.0.1', 'private 172.16/12'],
    ['172.31.255.255', 'private 172.16/12, last address'],
    ['192.168.1.1', 'private 192.168/16'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::1', 'IPv6 loopback'],
    ['[::1]', 'IPv6 loopback in URL brackets'],
    ['::', 'IPv6 unspecified'],
    ['fc00::1', 'unique-local fc00::/7'],
    ['fd12:3456:789a::1', 'unique-local fd00::/8'],
    ['fe80::1', 'link-local fe80::/10'],
    ['febf::1', 'link-local fe80::/10, top of the range'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, hex form'],
    ['::ffff:169.254.169.254', 'IPv4-mapped metadata service'],
    ['::ffff:10.1.2.3', 'IPv4-mapped private'],
    ['::ffff:192.168.0.1', 'IPv4-mapped private 192.168/16'],
    ['::ffff:100.64.0.1', 'IPv4-mapped CGNAT'],
    ['0:0:0:0:0:ffff:ac10:0001', 'IPv4-mapped 172.16.0.1, written in full'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 of the metadata service'],
    ['ff02::1', 'IPv6 multicast'],
    ['::ffff:0:127.0.0.1', 'IPv4-translated loopback (::ffff:0:0/96)'],
    ['::ffff:0:a9fe:a9fe', 'IPv4-translated metadata service, hex form'],
    ['2002:7f00:1::', '6to4 of loopback'],
    ['2002:a9fe:a9fe:1::1', '6to4 of the metadata service'],
    ['2002:c0a8:0101::1', '6to4 of 192.168.1.1'],
    ['64:ff9b::10.0.0.1', 'NAT64 of a private address'],
    ['64:ff9b:1::a00:1', 'local-use NAT64 (64:ff9b:1::/48)'],
    ['64:ff9b:1:a9fe:a9:fe00::', 'local-use NAT64 of the metadata service, /48 layout'],
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'Teredo whose client is 127.0.0.1'],
    ['localhost', 'a name (only resolved addresses are asked about)'],
  ])('refuses %s (%s)', (address) => {
    expect(isBlockedAddress(address)).toBe(true);
  });

  it.each([
    ['1.1.1.1'],
    ['93.184.216.34'],
    ['100.63.255.255'], // just below CGNAT
    ['100.128.0.0'], // just above CGNAT
    ['172.15.255.255'], // just below 172.16/12
    ['172.32.0.0'], // just above 172.16/12
    ['169.253.255.255'],
    ['192.169.0.1'],
    ['11.0.0.1'],
    ['2606:4700:4700::1111'],
    ['2001:db8::1'],
    ['::ffff:1.1.1.1'],
    ['2a00::1'],
    ['2002:0101:0101::1'], // 6to4 of 1.1.1.1
    ['64:ff9b::1.1.1.1'], // NAT64 of a public address
    ['::ffff:0:1.1.1.1'],
  ])('allows the public address %s', (address) => {
    expect(isBlockedAddress(address)).toBe(false);
  });

  it("refuses this machine's own interface addresses, whatever their range, also IPv4-mapped", () => {
    const own = Object.values(networkInterfaces())
      .flatMap((list) => list ?? [])
      .filter((info) => !info.internal)
      .map((info) => info.address);
    if (own.length === 0) console.warn('SKIPPED: this machine has no non-loopback interface address');
    for (const address of own) {
      expect(isBlockedAddress(address), address).toBe(true);
      if (isIPv4(address)) expect(isBlockedAddress(`::ffff:${address}`), address).toBe(true);
    }
  });
});
