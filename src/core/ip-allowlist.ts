import ipaddr from 'ipaddr.js';
import { invalidRequest } from './errors.js';

export type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Range = [Address, number];

/**
 * Only canonical forms: dotted-quad IPv4 and standard IPv6. (ipaddr.js also reads legacy forms
 * such as `42` or `0x7f.1`, which nobody means in an allowlist.) An IPv4-mapped IPv6 address
 * (`::ffff:10.0.0.1`) is the IPv4 address it carries.
 */
export function parseAddress(text: string): Address | null {
  const valid = text.includes(':') ? ipaddr.IPv6.isValid(text) : ipaddr.IPv4.isValidFourPartDecimal(text);
  return valid ? ipaddr.process(text) : null;
}

function parseEntry(entry: string): Range | null {
  const slash = entry.indexOf('/');
  if (slash < 0) {
    const address = parseAddress(entry);
    return address ? [address, address.kind() === 'ipv4' ? 32 : 128] : null;
  }
  const prefix = entry.slice(slash + 1);
  if (parseAddress(entry.slice(0, slash)) === null || !/^\d{1,3}$/.test(prefix) || !ipaddr.isValidCIDR(entry)) return null;
  const [address, bits] = ipaddr.parseCIDR(entry);
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    return [(address as ipaddr.IPv6).toIPv4Address(), bits - 96];
  }
  return [address, bits];
}

function networkOf([address, bits]: Range): Range {
  const network =
    address.kind() === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${bits}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${bits}`);
  return [network, bits];
}

const isHostRange = ([address, bits]: Range): boolean => bits === (address.kind() === 'ipv4' ? 32 : 128);
const formatRange = (range: Range): string =>
  isHostRange(range) ? range[0].toString() : `${range[0].toString()}/${range[1]}`;

/** Validates an allowlist from a request and returns it in canonical form (network addresses). */
export function normaliseAllowlist(entries: readonly string[], field = 'ip_allowlist'): string[] {
  const out = new Set<string>();
  for (const entry of entries) {
    const range = parseEntry(entry.trim());
    if (!range) throw invalidRequest(field, `'${entry}' is not an IP address or CIDR range`, { value: entry });
    out.add(formatRange(networkOf(range)));
  }
  return [...out];
}

export interface IpMatcher {
  readonly entries: readonly string[];
  allows(ip: string): boolean;
  /** Whether every address `other` allows, this one allows too. */
  covers(other: readonly string[]): boolean;
}

/**
 * Client addresses repeat from request to request, and parsing one costs about as much as the
 * token's SHA-256: remember recent ones (bounded; forgotten all at once when full).
 */
const CLIENT_CACHE_MAX = 10_000;
const clientAddresses = new Map<string, Address | null>();

function parseClient(ip: string): Address | null {
  let address = clientAddresses.get(ip);
  if (address === undefined) {
    address = parseAddress(ip);
    if (clientAddresses.size >= CLIENT_CACHE_MAX) clientAddresses.clear();
    clientAddresses.set(ip, address);
  }
  return address;
}

const rangeMatches = (address: Address, [network, bits]: Range): boolean =>
  address.kind() === network.kind() && address.match(network, bits);

/** Parses once, at cache-fill time, so that a request only parses its own client address. */
export function compileAllowlist(entries: readonly string[]): IpMatcher {
  const ranges = entries.map((entry) => parseEntry(entry)).filter((r): r is Range => r !== null);
  return {
    entries,
    allows(ip: string): boolean {
      const address = parseClient(ip);
      return address !== null && ranges.some((range) => rangeMatches(address, range));
    },
    covers(other: readonly string[]): boolean {
      return other.every((entry) => {
        const inner = parseEntry(entry);
        return inner !== null && ranges.some((outer) => inner[1] >= outer[1] && rangeMatches(inner[0], outer));
      });
    },
  };
}

/**
 * The addresses both allowlists allow, as an allowlist: two ranges either nest or are disjoint, so
 * each pair contributes the smaller of the two, or nothing.
 */
export function intersectAllowlists(a: readonly string[], b: readonly string[]): string[] {
  const out = new Set<string>();
  for (const x of a) {
    for (const y of b) {
      if (compileAllowlist([y]).covers([x])) out.add(x);
      else if (compileAllowlist([x]).covers([y])) out.add(y);
    }
  }
  return [...out];
}

/**
 * The client a count of guesses is kept for, however its address was written: an IPv4 address
 * whether sent plain, IPv4-mapped (`::ffff:…`, in any spelling) or with a port; an IPv6 address
 * by its /64, the block one client is usually given, so that walking through it buys no guesses.
 * Text that is no address at all is counted as written.
 */
export function clientKeyOf(text: string): string {
  const bare = /^\[([^\]]+)\](?::\d+)?$/.exec(text)?.[1] ?? (/^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(text)?.[1] ?? text);
  const address = parseAddress(bare);
  if (address === null) return text;
  if (address.kind() === 'ipv4') return address.toString();
  const parts = (address as ipaddr.IPv6).parts.slice(0, 4).map((part) => part.toString(16));
  return `${parts.join(':')}::/64`;
}
