// A self-signed X.509 v3 certificate with an ECDSA P-256 key, built in-process (Node has no certificate
// builder, and shelling out to openssl would make TLS depend on what is installed). ECDSA P-256 rather
// than Ed25519: every TLS stack a node may use (Node/OpenSSL, Apple's, Android's) accepts it.
// Clients pin the certificate's SHA-256 fingerprint; names in it are informative (CN openclaw-gateway,
// as upstream's generated certificate, plus subjectAltNames for localhost and the bind addresses).
import crypto from 'node:crypto';
import net from 'node:net';

export interface SelfSignedOptions {
  commonName?: string;
  /** DNS names for subjectAltName. */
  dnsNames?: string[];
  /** IPv4/IPv6 literals for subjectAltName. */
  ipAddresses?: string[];
  /** Validity in days from now (upstream's generated certificate: 3650). */
  days?: number;
  now?: Date;
  /** Serial number bytes (default 16 random bytes); encoded as a minimal positive DER INTEGER. */
  serial?: Buffer;
}

export interface SelfSigned {
  certPem: string;
  keyPem: string;
}

// --- minimal DER ---
function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}
const sequence = (...items: Buffer[]): Buffer => tlv(0x30, ...items);
const set = (...items: Buffer[]): Buffer => tlv(0x31, ...items);
function oid(dotted: string): Buffer {
  const [first, second, ...rest] = dotted.split('.').map(Number);
  const bytes = [first! * 40 + second!];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}
/** DER INTEGER: minimal (no redundant leading zero bytes), with a 0 prepended when the high bit is set. */
function positiveInteger(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const minimal = bytes.subarray(start);
  return tlv(0x02, minimal[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), minimal]) : minimal);
}
function time(date: Date): Buffer {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
  // RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
  return date.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`, 'ascii'))
    : tlv(0x18, Buffer.from(`${iso}Z`, 'ascii'));
}
function bitString(bytes: Buffer): Buffer {
  return tlv(0x03, Buffer.from([0]), bytes);
}
function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), tlv(0x04, value));
}

function ipBytes(address: string): Buffer {
  if (net.isIPv4(address)) return Buffer.from(address.split('.').map(Number));
  // Expand "::" and write eight 16-bit groups (an IPv4 tail is not expected here).
  const [head, tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** Generates a key pair and a certificate signed by it (ecdsa-with-SHA256). */
export function generateSelfSignedCertificate(options: SelfSignedOptions = {}): SelfSigned {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const now = options.now ?? new Date();
  const notBefore = new Date(now.getTime() - 60 * 60 * 1000); // an hour of clock skew
  const notAfter = new Date(now.getTime() + (options.days ?? 3650) * 24 * 60 * 60 * 1000);
  let serial = options.serial;
  if (!serial) {
    serial = crypto.randomBytes(16);
    serial[0] = (serial[0]! & 0x7f) | 0x40; // 16 significant bytes (RFC 5280: at most 20)
  }
  const name = sequence(
    set(sequence(oid('2.5.4.3'), tlv(0x0c, Buffer.from(options.commonName ?? 'openclaw-gateway', 'utf8')))),
  );
  const altNames = [
    ...(options.dnsNames ?? ['localhost']).map((dns) => tlv(0x82, Buffer.from(dns, 'ascii'))),
    ...(options.ipAddresses ?? ['127.0.0.1', '::1'])
      .filter((ip) => net.isIP(ip) !== 0)
      .map((ip) => tlv(0x87, ipBytes(ip))),
  ];
  const signatureAlgorithm = sequence(oid('1.2.840.10045.4.3.2'));
  const extensions = tlv(
    0xa3,
    sequence(
      extension('2.5.29.19', true, sequence()), // basicConstraints: not a CA
      extension('2.5.29.15', true, bitString(Buffer.from([0x80]))), // keyUsage: digitalSignature
      extension('2.5.29.37', false, sequence(oid('1.3.6.1.5.5.7.3.1'))), // extKeyUsage: serverAuth
      extension('2.5.29.17', false, sequence(...altNames)), // subjectAltName
    ),
  );
  const tbs = sequence(
    tlv(0xa0, positiveInteger(Buffer.from([2]))), // v3
    positiveInteger(serial),
    signatureAlgorithm,
    name,
    sequence(time(notBefore), time(notAfter)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    extensions,
  );
  const signature = crypto.sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
  const der = sequence(tbs, signatureAlgorithm, bitString(signature));
  const body = der.toString('base64').replace(/.{1,64}/g, '$&\n');
  return {
    certPem: `-----BEGIN CERTIFICATE-----\n${body}-----END CERTIFICATE-----\n`,
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}
