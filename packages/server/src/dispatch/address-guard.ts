import { isIPv4, isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';

/**
 * The request-forgery guard's one decision: may Herald open a connection to this IP address?
 * An endpoint URL is written by a customer, so without this check it could make Herald reach the
 * cloud metadata service (169.254.169.254), the database next door or the admin port on loopback.
 * The dispatcher asks this after DNS, for every address the host resolves to, and connects to the
 * address that was checked (see send.ts), so a name that changes its answer cannot slip past.
 */

/** [first address, prefix length] of each refused IPv4 range. */
const BLOCKED_V4: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, incl. the 169.254.169.254 metadata service
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and 255.255.255.255
];

function v4ToNumber(address: string): number {
  return address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

const BLOCKED_V4_RANGES = BLOCKED_V4.map(([first, bits]) => {
  const size = 2 ** (32 - bits);
  const start = v4ToNumber(first);
  return { start, end: start + size - 1 };
});

function isBlockedV4(address: string): boolean {
  const n = v4ToNumber(address);
  return BLOCKED_V4_RANGES.some((r) => n >= r.start && n <= r.end) || ownAddresses().has(`4:${n}`);
}

/**
 * This machine's own interface addresses, whatever their range: a service bound to 0.0.0.0 here
 * answers on the host's public address too. Read again after OWN_ADDRESSES_TTL_MS, since an address
 * can change (DHCP) while Herald runs; os.networkInterfaces() costs ~20 µs, once per connect at most.
 */
const OWN_ADDRESSES_TTL_MS = 10_000;
let own: { keys: Set<string>; until: number } | undefined;

function ownAddresses(): Set<string> {
  const now = Date.now();
  if (own && own.until > now) return own.keys;
  const keys = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) {
      const bare = info.address.split('%')[0] ?? info.address;
      if (isIPv4(bare)) keys.add(`4:${v4ToNumber(bare)}`);
      else if (isIPv6(bare)) keys.add(`6:${v6Groups(bare).join(':')}`);
    }
  }
  own = { keys, until: now + OWN_ADDRESSES_TTL_MS };
  return keys;
}

/** The eight 16-bit groups of an IPv6 address (zone id dropped; an embedded dotted IPv4 tail read). */
function v6Groups(address: string): number[] {
  let text = address.split('%')[0] ?? address;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const n = v4ToNumber(tail);
    text = `${text.slice(0, lastColon + 1)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const zeros = rest === undefined ? 0 : 8 - headGroups.length - restGroups.length;
  return [...headGroups, ...Array<string>(zeros).fill('0'), ...restGroups].map((g) => Number.parseInt(g, 16));
}

function isBlockedV6(address: string): boolean {
  const g = v6Groups(address);
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
  const v4 = (high: number, low: number) => `${high >>> 8}.${high & 0xff}.${low >>> 8}.${low & 0xff}`;
  const embeddedV4 = v4(g6, g7);
  const firstFourZero = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0;
  // ::ffff:a.b.c.d (IPv4-mapped) reaches the IPv4 address itself.
  if (firstFourZero && g4 === 0 && g5 === 0xffff) return isBlockedV4(embeddedV4);
  // ::ffff:0:a.b.c.d (IPv4-translated, ::ffff:0:0/96) too.
  if (firstFourZero && g4 === 0xffff && g5 === 0) return isBlockedV4(embeddedV4);
  if (firstFourZero && g4 === 0 && g5 === 0) {
    // :: (unspecified), ::1 (loopback), and the deprecated IPv4-compatible ::a.b.c.d.
    if (g6 === 0 && (g7 === 0 || g7 === 1)) return true;
    return isBlockedV4(embeddedV4);
  }
  // 64:ff9b::/96, the well-known NAT64 prefix, reaches the IPv4 address in its last 32 bits.
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return isBlockedV4(embeddedV4);
  // 64:ff9b:1::/48 is NAT64 for local use (RFC 8215): whatever it embeds sits inside one network.
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) return true;
  // 2002::/16, 6to4: 2002:AABB:CCDD:… is relayed to the IPv4 address AA.BB.CC.DD.
  if (g0 === 0x2002) return isBlockedV4(v4(g1, g2));
  // 2001::/32, Teredo: the client's IPv4 address is the last 32 bits, inverted.
  if (g0 === 0x2001 && g1 === 0) return isBlockedV4(v4(~g6 & 0xffff, ~g7 & 0xffff));
  if ((g0 & 0xfe00) === 0xfc00) return true; // fc00::/7 unique-local
  if ((g0 & 0xffc0) === 0xfe80) return true; // fe80::/10 link-local
  if ((g0 & 0xffc0) === 0xfec0) return true; // fec0::/10 site-local (deprecated)
  if ((g0 & 0xff00) === 0xff00) return true; // ff00::/8 multicast
  return ownAddresses().has(`6:${g.join(':')}`);
}

/**
 * Whether a connection to `address` (an IPv4 or IPv6 literal, brackets allowed) must be refused.
 * Anything that is not an IP address is refused too: the guard only ever sees resolved addresses.
 */
export function isBlockedAddress(address: string): boolean {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (isIPv4(bare)) return isBlockedV4(bare);
  if (isIPv6(bare)) return isBlockedV6(bare);
  return true;
}
