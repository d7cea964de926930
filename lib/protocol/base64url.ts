// base64url without padding (RFC 4648 §5), as used for device public keys, signatures and tokens.

const BASE64URL_RE = /^[A-Za-z0-9_-]*$/;

export function base64UrlEncode(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64url');
}

/** Decodes strict base64url (padding tolerated); undefined for any other alphabet or an impossible length. */
export function base64UrlDecode(text: string): Buffer | undefined {
  const stripped = text.replace(/={1,2}$/, '');
  if (!BASE64URL_RE.test(stripped) || stripped.length % 4 === 1) return undefined;
  return Buffer.from(stripped, 'base64url');
}
