import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isPublicAddress } from '../../../src/core/oauth/public-address.js';

/** Addresses as numbers, written out here rather than through the parser under test. */
const dotted = (n: number): string => [24, 16, 8, 0].map((shift) => (n >>> shift) & 0xff).join('.');
const hex16 = (n: number): string => n.toString(16);

function ipv4In(network: string, bits: number): fc.Arbitrary<string> {
  const base = network.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
  const size = 2 ** (32 - bits);
  return fc.integer({ min: 0, max: size - 1 }).map((offset) => dotted(base + offset));
}

/** Eight groups; the first `bits` come from the prefix, the rest at random. */
function ipv6In(prefix: readonly number[], bits: number): fc.Arbitrary<string> {
  return fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }).map((random) =>
    random
      .map((group, i) => {
        const fixed = Math.max(0, Math.min(16, bits - 16 * i));
        const mask = fixed === 0 ? 0 : (0xffff << (16 - fixed)) & 0xffff;
        return hex16(((prefix[i] ?? 0) & mask) | (group & ~mask & 0xffff));
      })
      .join(':'),
  );
}

const REFUSED_IPV4: [string, number][] = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24],
  ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
];

const REFUSED_IPV6: [number[], number][] = [
  [[0xfc00], 7], [[0xfe80], 10], [[0xff00], 8], [[0xfec0], 10], [[0x2001, 0x0db8], 32], [[0x2001, 0], 32], [[0x2001, 0x0002], 48],
  [[0x0100], 64], [[0x4000], 2], [[0x8000], 1], [[0x0064, 0xff9b, 0x0001], 48],
];

/** The IPv6 spellings that carry an IPv4 address, each to be judged by it. */
function carriers(ipv4: string): string[] {
  const [a, b, c, d] = ipv4.split('.').map(Number) as [number, number, number, number];
  const high = hex16(a * 256 + b);
  const low = hex16(c * 256 + d);
  return [`::ffff:${ipv4}`, `::ffff:${high}:${low}`, `0:0:0:0:0:ffff:${ipv4}`, `64:ff9b::${ipv4}`, `64:ff9b::${high}:${low}`, `2002:${high}:${low}::1`, `::${high}:${low}`];
}

const anyIPv4 = fc.integer({ min: 0, max: 2 ** 32 - 1 }).map(dotted);

describe('public addresses', () => {
  it('accept ordinary public addresses of both families', () => {
    for (const ip of ['8.8.8.8', '1.1.1.1', '172.15.255.255', '172.32.0.0', '100.63.255.255', '100.128.0.0', '198.17.255.255', '198.20.0.0', '223.255.255.255', '192.0.1.255', '192.0.3.0', '11.0.0.0']) {
      expect(isPublicAddress(ip), ip).toBe(true);
    }
    for (const ip of ['2606:4700::1111', '2001:4860:4860::8888', '2a00:1450:4001:82a::200e', '2001:200::1', '2c0f:fb50::1']) expect(isPublicAddress(ip), ip).toBe(true);
  });

  it('refuse the edges and single addresses of the special ranges', () => {
    for (const ip of ['0.0.0.0', '127.0.0.1', '10.255.255.255', '172.16.0.0', '172.31.255.255', '192.168.1.1', '100.64.0.0', '100.127.255.255', '169.254.169.254', '192.0.0.8', '198.19.255.255', '255.255.255.255', '224.0.0.1', '239.255.255.250', '240.0.0.1', '192.88.99.1']) {
      expect(isPublicAddress(ip), ip).toBe(false);
    }
    for (const ip of ['::', '::1', 'fe80::1', 'febf::1', 'fc00::1', 'fd12:3456::1', 'ff02::1', '2001:db8::1', '2001::1', '2001:0:4136:e378:8000:63bf:3fff:fdd2', '3fff::1', '1fff:ffff::1', '4000::1', '::ffff:0:8.8.8.8', '64:ff9b:1::8.8.8.8']) {
      expect(isPublicAddress(ip), ip).toBe(false);
    }
  });

  it('refuse every address inside each refused IPv4 range, however it is spelt', () => {
    for (const [network, bits] of REFUSED_IPV4) {
      fc.assert(
        fc.property(ipv4In(network, bits), (ip) => {
          expect(isPublicAddress(ip), ip).toBe(false);
          for (const spelling of carriers(ip)) expect(isPublicAddress(spelling), spelling).toBe(false);
        }),
        { numRuns: 200 },
      );
    }
  });

  it('refuse every address inside each refused IPv6 range', () => {
    for (const [prefix, bits] of REFUSED_IPV6) {
      fc.assert(fc.property(ipv6In(prefix, bits), (ip) => {
        expect(isPublicAddress(ip), ip).toBe(false);
      }), { numRuns: 200 });
    }
  });

  it('accept every address of 8.0.0.0/8 and 2606:4700::/32, and the IPv6 spellings of the first', () => {
    fc.assert(
      fc.property(ipv4In('8.0.0.0', 8), (ip) => {
        expect(isPublicAddress(ip), ip).toBe(true);
        for (const spelling of carriers(ip)) expect(isPublicAddress(spelling), spelling).toBe(true);
      }),
    );
    fc.assert(fc.property(ipv6In([0x2606, 0x4700], 32), (ip) => {
      expect(isPublicAddress(ip), ip).toBe(true);
    }));
  });

  it('judge an IPv6 address that carries an IPv4 one exactly as that IPv4 address', () => {
    fc.assert(
      fc.property(anyIPv4, (ip) => {
        const verdict = isPublicAddress(ip);
        for (const spelling of carriers(ip)) expect(isPublicAddress(spelling), spelling).toBe(verdict);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuse anything that is not an IP literal in its usual spelling', () => {
    for (const text of ['', 'localhost', 'example.com', '8.8.8', '8.8.8.8.8', '08.8.8.8', '0x8.8.8.8', '134744072', '8.8.8.8 ', ' 8.8.8.8', '8.8.8.8/32', '8.8.8.8:80', '[2606:4700::1111]', '2606:4700::1111%eth0', 'fe80::1%1', '::ffff:08.8.8.8', '2606:4700:::1', '2606:4700::1::1', '256.1.1.1']) {
      expect(isPublicAddress(text), JSON.stringify(text)).toBe(false);
    }
  });

  it('accept only what Node.js reads as an IP address', async () => {
    const { isIP } = await import('node:net');
    const candidate = fc.oneof(fc.string({ unit: fc.constantFrom(...'0123456789abcdef.:%x'), maxLength: 45 }), fc.ipV4(), fc.ipV6(), fc.ipV4Extended());
    fc.assert(fc.property(candidate, (text) => !isPublicAddress(text) || isIP(text) !== 0), { numRuns: 2000 });
  });
});
