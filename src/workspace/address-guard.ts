/**
 * Decides whether a host may be contacted for a download (SSRF guard). A host name is resolved once, every
 * address it resolves to is classified, and the connection is then pinned to the checked address (a custom
 * `lookup` for the socket), so a DNS answer that changes between the check and the connection (DNS
 * rebinding) cannot slip a private address in.
 *
 * Refused unless `allowPrivateHosts`: private (10/8, 172.16/12, 192.168/16, fc00::/7), loopback (127/8,
 * ::1), link-local (169.254/16, fe80::/10), CGNAT (100.64/10), reserved and documentation ranges, and the
 * IPv4-mapped / IPv4-compatible / NAT64 / 6to4 IPv6 forms of the IPv4 ones. Always refused, even with
 * `allowPrivateHosts`: unspecified (0.0.0.0/8, ::), multicast, broadcast and the cloud metadata addresses
 * (169.254.169.254 and friends), which no data set lives on. `allowedAddresses` exempts exact addresses
 * (for an internal data server, and for tests on 127.0.0.1).
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { isIP, type LookupFunction } from "node:net";

export type AddressCategory =
  | "private"
  | "loopback"
  | "link-local"
  | "cgnat"
  | "reserved"
  | "unspecified"
  | "multicast"
  | "broadcast"
  | "metadata";

export interface AddressClass {
  category: AddressCategory;
  /** Noun phrase for messages, e.g. "a private address". */
  description: string;
  /** True for categories that `allowPrivateHosts` does not unlock. */
  alwaysRefused: boolean;
}

export interface AddressPolicy {
  /** Let private, loopback, link-local, CGNAT and reserved addresses through (AIDE_DATA_ALLOW_PRIVATE_HOSTS=1). */
  allowPrivateHosts: boolean;
  /** Exact addresses allowed whatever their class (compared after normalisation). */
  allowedAddresses?: readonly string[];
}

/** Resolves a host name to all its addresses (dns.lookup with `all: true` by default; injectable for tests). */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

export interface PinnedAddress {
  address: string;
  family: 4 | 6;
}

export type HostDecision =
  | { ok: true; hostname: string; pinned: PinnedAddress }
  /** `refused`: an address is not allowed; `unresolved`: the name did not resolve. `reason` is user-facing. */
  | { ok: false; kind: "refused" | "unresolved"; reason: string };

export const ALLOW_PRIVATE_HINT = "set AIDE_DATA_ALLOW_PRIVATE_HOSTS=1 to allow";

const METADATA_V4 = new Set(["169.254.169.254", "169.254.170.2", "169.254.169.253", "100.100.100.200", "192.0.0.192"]);
const METADATA_V6 = new Set(["fd00:ec2:0:0:0:0:0:254"]);

function cls(category: AddressCategory, description: string): AddressClass {
  const alwaysRefused =
    category === "unspecified" || category === "multicast" || category === "broadcast" || category === "metadata";
  return { category, description, alwaysRefused };
}

/** Parses a dotted-quad IPv4 address into an unsigned 32-bit number (null when not one). */
function parseIPv4(ip: string): number | null {
  if (isIP(ip) !== 4) return null;
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return null;
  return (((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!) >>> 0;
}

function inV4(n: number, base: string, bits: number): boolean {
  const b = parseIPv4(base)!;
  if (bits === 0) return true;
  const mask = bits === 32 ? 0xffffffff : ~((1 << (32 - bits)) - 1) >>> 0;
  return (n & mask) >>> 0 === (b & mask) >>> 0;
}

function v4String(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Expands an IPv6 address (zone id stripped, embedded dotted quad allowed) into 8 16-bit groups. */
function parseIPv6(raw: string): number[] | null {
  const ip = raw.split("%")[0]!;
  if (isIP(ip) !== 6) return null;
  let text = ip.toLowerCase();
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (tail.includes(".")) {
    const n = parseIPv4(tail);
    if (n === null) return null;
    text = `${text.slice(0, lastColon + 1)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(":") : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 && missing !== 0) return null;
  if (missing < 0) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...rest].map((g) =>
    parseInt(g, 16),
  );
  if (groups.length !== 8 || groups.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) return null;
  return groups;
}

function classifyV4(n: number): AddressClass | null {
  const ip = v4String(n);
  if (METADATA_V4.has(ip)) return cls("metadata", "a cloud metadata address");
  if (inV4(n, "0.0.0.0", 8)) return cls("unspecified", "an unspecified address");
  if (inV4(n, "127.0.0.0", 8)) return cls("loopback", "a loopback address");
  if (inV4(n, "10.0.0.0", 8) || inV4(n, "172.16.0.0", 12) || inV4(n, "192.168.0.0", 16))
    return cls("private", "a private address");
  if (inV4(n, "169.254.0.0", 16)) return cls("link-local", "a link-local address");
  if (inV4(n, "100.64.0.0", 10)) return cls("cgnat", "a carrier-grade NAT address");
  if (n === 0xffffffff) return cls("broadcast", "a broadcast address");
  if (inV4(n, "224.0.0.0", 4)) return cls("multicast", "a multicast address");
  if (
    inV4(n, "240.0.0.0", 4) ||
    inV4(n, "192.0.0.0", 24) ||
    inV4(n, "192.0.2.0", 24) ||
    inV4(n, "198.51.100.0", 24) ||
    inV4(n, "203.0.113.0", 24) ||
    inV4(n, "198.18.0.0", 15) ||
    inV4(n, "192.88.99.0", 24)
  ) {
    return cls("reserved", "a reserved address");
  }
  return null;
}

function classifyV6(g: number[]): AddressClass | null {
  const full = g.map((x) => x.toString(16)).join(":");
  if (METADATA_V6.has(full)) return cls("metadata", "a cloud metadata address");
  const zeroPrefix5 = g.slice(0, 5).every((x) => x === 0);
  const embedded = ((g[6]! << 16) >>> 0) + g[7]!;
  // ::ffff:a.b.c.d (IPv4-mapped) and ::a.b.c.d (IPv4-compatible, deprecated) carry an IPv4 address.
  if (zeroPrefix5 && (g[5] === 0xffff || g[5] === 0)) {
    if (g[5] === 0 && g[6] === 0 && g[7] === 0) return cls("unspecified", "an unspecified address");
    if (g[5] === 0 && g[6] === 0 && g[7] === 1) return cls("loopback", "a loopback address");
    return classifyV4(embedded) ?? (g[5] === 0 ? cls("reserved", "a reserved address") : null);
  }
  // NAT64 (64:ff9b::/96) embeds the IPv4 target in the last 32 bits.
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return classifyV4(embedded);
  // 6to4 (2002::/16) embeds an IPv4 address in bits 16..47.
  if (g[0] === 0x2002) return classifyV4(((g[1]! << 16) >>> 0) + g[2]!);
  if ((g[0]! & 0xfe00) === 0xfc00) return cls("private", "a private address");
  if ((g[0]! & 0xffc0) === 0xfe80) return cls("link-local", "a link-local address");
  if ((g[0]! & 0xffc0) === 0xfec0) return cls("private", "a private address");
  if ((g[0]! & 0xff00) === 0xff00) return cls("multicast", "a multicast address");
  if (g[0] === 0x2001 && g[1] === 0x0db8) return cls("reserved", "a reserved address");
  if (g[0] === 0x0100 && g.slice(1, 4).every((x) => x === 0)) return cls("reserved", "a reserved address");
  return null;
}

/** Classifies an IP address; null means a public address. Unparseable input is classed as reserved. */
export function classifyAddress(ip: string): AddressClass | null {
  const bare = ip.replace(/^\[|\]$/g, "");
  const v4 = parseIPv4(bare);
  if (v4 !== null) return classifyV4(v4);
  const v6 = parseIPv6(bare);
  if (v6 !== null) return classifyV6(v6);
  return cls("reserved", "not a valid IP address");
}

/** Canonical text form used to compare against `allowedAddresses`. */
function canonical(ip: string): string {
  const bare = ip.replace(/^\[|\]$/g, "");
  const v4 = parseIPv4(bare);
  if (v4 !== null) return v4String(v4);
  const v6 = parseIPv6(bare);
  if (v6 !== null) return v6.map((x) => x.toString(16)).join(":");
  return bare.toLowerCase();
}

function refusal(address: string, policy: AddressPolicy): { description: string; note: string } | null {
  const c = classifyAddress(address);
  if (!c) return null;
  const allowed = (policy.allowedAddresses ?? []).some((a) => canonical(a) === canonical(address));
  if (allowed) return null;
  if (c.alwaysRefused) return { description: c.description, note: "always refused" };
  if (policy.allowPrivateHosts) return null;
  return { description: c.description, note: ALLOW_PRIVATE_HINT };
}

/** Why `address` may not be contacted under `policy` ("10.0.0.5 is a private address (...)"), or null. */
export function refusalReason(address: string, policy: AddressPolicy): string | null {
  const r = refusal(address, policy);
  return r ? `${address} is ${r.description} (${r.note})` : null;
}

export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
  });

/**
 * Resolves `hostname` (a URL's hostname; IPv6 literals may keep their brackets) and checks every address.
 * Refuses when any address is not allowed (a name that resolves to both a public and a private address is
 * refused: it could be pinned to either). On success, the first address is the one to connect to.
 */
export async function checkHost(
  hostname: string,
  policy: AddressPolicy,
  resolver: Resolver = systemResolver,
): Promise<HostDecision> {
  const bare = hostname.replace(/^\[|\]$/g, "");
  let addresses: LookupAddress[];
  if (isIP(bare)) {
    addresses = [{ address: bare, family: isIP(bare) }];
  } else {
    try {
      addresses = await resolver(bare);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException | undefined)?.code;
      const why =
        code === "ENOTFOUND" || code === "ENODATA"
          ? "the host name does not exist"
          : `the host name could not be resolved${code ? ` (${code})` : ""}`;
      return { ok: false, kind: "unresolved", reason: why };
    }
  }
  if (addresses.length === 0) return { ok: false, kind: "unresolved", reason: "the host name has no addresses" };
  for (const a of addresses) {
    const r = refusal(a.address, policy);
    if (r) {
      const text =
        a.address === bare
          ? `${bare} is ${r.description}`
          : `${bare} resolves to ${a.address}, which is ${r.description}`;
      return { ok: false, kind: "refused", reason: `${text} (${r.note})` };
    }
  }
  const first = addresses[0]!;
  const family = first.family === 6 || isIP(first.address) === 6 ? 6 : 4;
  return { ok: true, hostname: bare, pinned: { address: first.address, family } };
}

/**
 * A `lookup` for http(s).request / net.connect that always answers with the checked address, so the socket
 * connects to exactly what `checkHost` approved (handles the `all: true` form Node uses for
 * autoSelectFamily).
 */
export function pinnedLookup(pinned: PinnedAddress): LookupFunction {
  return ((_hostname: string, options: unknown, callback?: unknown) => {
    const cb = (typeof options === "function" ? options : callback) as (
      err: NodeJS.ErrnoException | null,
      address: string | LookupAddress[],
      family?: number,
    ) => void;
    const all = typeof options === "object" && options !== null && (options as { all?: boolean }).all === true;
    process.nextTick(() => {
      if (all) cb(null, [{ address: pinned.address, family: pinned.family }]);
      else cb(null, pinned.address, pinned.family);
    });
  }) as LookupFunction;
}
