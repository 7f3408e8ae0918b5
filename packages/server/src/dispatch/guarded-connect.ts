import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { buildConnector } from 'undici';
import { isBlockedAddress } from './address-guard.js';

/**
 * undici's connector with the request-forgery guard in it. Node's net/tls connect resolves the host
 * with our `lookup`, which refuses the connection when any address the name resolves to is blocked,
 * and otherwise hands back exactly the addresses it checked: the socket connects to one of those,
 * so a DNS answer that changes between a check and the connect (rebinding) cannot get through.
 * An IP literal in the URL is never looked up by Node, so it is checked before connecting.
 */

/** The error a refused address fails with; send.ts classifies it as `blocked`. */
export class BlockedAddressError extends Error {
  override readonly name = 'BlockedAddressError';
  readonly code = 'HERALD_BLOCKED_ADDRESS';
  constructor(host: string, address: string) {
    super(
      host === address
        ? `${address} is a private, loopback or link-local address.`
        : `${host} resolves to ${address}, a private, loopback or link-local address.`,
    );
  }
}

type LookupCallback = (error: Error | null, address?: string | LookupAddress[], family?: number) => void;

const guardedLookup = ((hostname: string, options: { all?: boolean; family?: number }, callback: LookupCallback) => {
  dnsLookup(hostname, { all: true, family: options.family ?? 0 }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error);
    const blocked = addresses.find((a) => isBlockedAddress(a.address));
    if (blocked) return callback(new BlockedAddressError(hostname, blocked.address));
    if (options.all) return callback(null, addresses);
    const first = addresses[0] as LookupAddress;
    return callback(null, first.address, first.family);
  });
}) as unknown as LookupFunction;

export function guardedConnector(options: { timeout: number }): buildConnector.connector {
  const connect = buildConnector({ timeout: options.timeout, lookup: guardedLookup } as buildConnector.BuildOptions);
  return (opts, callback) => {
    const host = opts.hostname.startsWith('[') ? opts.hostname.slice(1, -1) : opts.hostname;
    if (isIP(host) !== 0 && isBlockedAddress(host)) {
      callback(new BlockedAddressError(host, host), null);
      return;
    }
    connect(opts, callback);
  };
}
