import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { parseAddress } from '../ip-allowlist.js';

/**
 * Whether an address is one a server-side fetch (a client's metadata document) may connect to:
 * on the public Internet, not this host, its networks or anything special-purpose. Asked of every
 * address a name resolves to, so that a name pointing inward is refused whatever it is called.
 *
 * IPv4 is a list of refusals (the IANA special-purpose registry). IPv6 is the other way round:
 * only global unicast (2000::/3) can be public, so everything outside it is refused without
 * being named, except the forms that carry an IPv4 address, which are judged by that address.
 */

const cidr = (text: string): [ipaddr.IPv4 | ipaddr.IPv6, number] => ipaddr.parseCIDR(text);

const REFUSED_IPV4 = [
  '0.0.0.0/8', // "this network", 0.0.0.0 included
  '10.0.0.0/8',
  '100.64.0.0/10', // carrier-grade NAT
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24', // IETF protocol assignments
  '192.0.2.0/24', // TEST-NET-1
  '192.88.99.0/24', // the retired 6to4 relay anycast
  '192.168.0.0/16',
  '198.18.0.0/15', // benchmarking
  '198.51.100.0/24', // TEST-NET-2
  '203.0.113.0/24', // TEST-NET-3
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, 255.255.255.255 included
].map(cidr);

const GLOBAL_UNICAST = cidr('2000::/3');

const REFUSED_IPV6 = [
  // Teredo (2001::/32), benchmarking, ORCHID and the rest of the IETF's block: nothing here is a
  // web server, and Teredo hides an IPv4 address a tunnel would reach.
  '2001::/23',
  '2001:db8::/32', // documentation
  '3fff::/20', // documentation
].map(cidr);

const NAT64 = cidr('64:ff9b::/96');
const SIX_TO_FOUR = cidr('2002::/16');
const IPV4_COMPATIBLE = cidr('::/96');

const within = (address: ipaddr.IPv4 | ipaddr.IPv6, [network, bits]: [ipaddr.IPv4 | ipaddr.IPv6, number]): boolean =>
  address.kind() === network.kind() && address.match(network, bits);

const ipv4Of = (high: number, low: number): ipaddr.IPv4 => new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);

const isPublicIPv4 = (address: ipaddr.IPv4): boolean => !REFUSED_IPV4.some((range) => within(address, range));

/** The IPv4 address an IPv6 one stands for, where it stands for one. (IPv4-mapped is unwrapped by the parser.) */
function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 | null {
  const parts = address.parts;
  if (within(address, IPV4_COMPATIBLE) || within(address, NAT64)) return ipv4Of(parts[6]!, parts[7]!);
  if (within(address, SIX_TO_FOUR)) return ipv4Of(parts[1]!, parts[2]!);
  return null;
}

function isPublicIPv6(address: ipaddr.IPv6): boolean {
  const inner = embeddedIPv4(address);
  if (inner) return isPublicIPv4(inner);
  return within(address, GLOBAL_UNICAST) && !REFUSED_IPV6.some((range) => within(address, range));
}

/**
 * An IP literal in its usual spelling only: what both Node.js and the allowlist's parser read
 * (Node.js refuses `::ffff:01.2.3.4`, which ipaddr.js reads), and no zone: a scope names an
 * interface of this host, which a public address never needs.
 */
export function isPublicAddress(ip: string): boolean {
  if (isIP(ip) === 0 || ip.includes('%')) return false;
  const address = parseAddress(ip);
  if (address === null) return false;
  return address.kind() === 'ipv4' ? isPublicIPv4(address as ipaddr.IPv4) : isPublicIPv6(address as ipaddr.IPv6);
}
