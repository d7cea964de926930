// TLS for Gateway clients. With a pinned SHA-256 fingerprint the certificate chain is not checked
// (Gateways serve self-signed certificates); instead the peer's certificate must hash to the pin, and that
// is checked right after the TLS handshake, BEFORE the HTTP upgrade request is written: on a mismatch
// nothing at all (no header, no connect frame, no secret) reaches the peer. Without a pin a wss:// URL is
// verified against the system's CAs as any HTTPS client would.
import type http from 'node:http';
import net from 'node:net';
import tls, { TLSSocket } from 'node:tls';

import type WebSocket from 'ws';

import { fingerprintsEqual, normalizeTlsFingerprint } from '../common/tls-fingerprint.js';
import { GatewayClientError } from './errors.js';

/** Errors Node's TLS layer reports for a certificate it cannot trust. */
const UNTRUSTED_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * ws options for `url`: nothing for ws:// (a pin there is ERR_GATEWAY_TLS_CONFIG: there is no certificate
 * to pin), the pin check for wss:// with a fingerprint.
 */
export function tlsClientOptions(url: string, tlsFingerprint: string | undefined): WebSocket.ClientOptions {
  if (tlsFingerprint === undefined || tlsFingerprint === '') return {};
  const expected = normalizeTlsFingerprint(tlsFingerprint);
  if (!expected)
    throw new GatewayClientError(
      'ERR_GATEWAY_TLS_CONFIG',
      'the TLS fingerprint must be a SHA-256 certificate fingerprint (64 hex digits)',
    );
  if (!url.startsWith('wss://'))
    throw new GatewayClientError(
      'ERR_GATEWAY_TLS_CONFIG',
      `a TLS fingerprint needs a wss:// Gateway URL (got ${url}); pass --tls or use wss://`,
    );
  return {
    rejectUnauthorized: false,
    finishRequest: (request: http.ClientRequest) => {
      request.once('socket', (socket) => {
        const check = (): void => {
          if (request.destroyed) return;
          const presented = socket instanceof TLSSocket ? socket.getPeerCertificate()?.fingerprint256 : undefined;
          const actual = normalizeTlsFingerprint(presented);
          if (!fingerprintsEqual(actual, expected)) {
            request.destroy(
              new GatewayClientError(
                'ERR_GATEWAY_TLS_PIN_MISMATCH',
                `the Gateway at ${url} presented a certificate with SHA-256 ${actual || '(none)'}, not the pinned ${expected}; ` +
                  `nothing was sent (a changed certificate or someone in between: check the fingerprint the Gateway prints)`,
              ),
            );
            return;
          }
          request.end();
        };
        // A fresh socket is still handshaking (no peer certificate yet): check once it is done.
        const handshaking = socket instanceof TLSSocket && Object.keys(socket.getPeerCertificate() ?? {}).length === 0;
        if (handshaking) socket.once('secureConnect', check);
        else check();
      });
    },
  };
}

/** A clearer error for a failed connect: pin mismatches as they are, untrusted certificates with a hint. */
export function describeTlsFailure(url: string, err: Error & { code?: string }): GatewayClientError | undefined {
  if (err instanceof GatewayClientError) return err;
  if (err.code !== undefined && UNTRUSTED_CODES.has(err.code)) {
    return new GatewayClientError(
      'ERR_GATEWAY_TLS_UNTRUSTED',
      `the Gateway at ${url} presented a certificate this machine does not trust (${err.code}); ` +
        `a Gateway with a self-signed certificate needs --tls-fingerprint <sha256> (printed by the Gateway at start)`,
      { cause: err },
    );
  }
  return undefined;
}

/**
 * The SHA-256 fingerprint of the certificate a wss:// Gateway presents, read by a bare TLS handshake that
 * sends nothing after it (no HTTP request, no secret): what `connect` and `doctor` show beside the pin.
 * Rejects with the socket error, or ERR_GATEWAY_CONNECT_TIMEOUT after `timeoutMs`.
 */
export function presentedFingerprint(url: string, timeoutMs: number): Promise<string> {
  const target = new URL(url);
  const host = target.hostname.replace(/^\[|\]$/g, '');
  const port = Number(target.port || 443);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host,
      port,
      rejectUnauthorized: false,
      ...(net.isIP(host) === 0 ? { servername: host } : {}),
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new GatewayClientError('ERR_GATEWAY_CONNECT_TIMEOUT', `no TLS handshake with ${url} within ${timeoutMs} ms`),
      );
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const fingerprint = normalizeTlsFingerprint(socket.getPeerCertificate()?.fingerprint256);
      socket.destroy();
      resolve(fingerprint);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}
