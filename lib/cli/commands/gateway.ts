// openclaw-ipc gateway [--port N] [--bind loopback|lan|tailnet|custom|auto|<address>] [--tls]
//   [--auth none|token|password] [--token T | --password P] [--state-dir DIR] [--json]
// Runs the Gateway in the foreground until SIGINT/SIGTERM, then shuts down cleanly (shutdown event,
// close 1012 to every client). Auth mode: --auth, else gateway.auth.mode, else password when one is
// configured, else token. Bind: --bind, else gateway.bind (+ gateway.customBindHost), else loopback.
// A non-loopback bind needs auth (mode none is refused) and TLS (--tls or gateway.tls.enabled).
import { IpcError } from '../../common/errors.js';
import type { GatewayHandle } from '../../gateway/server.js';
import { GATEWAY_AUTH_MODES, type GatewayAuthMode } from '../../gateway/auth-config.js';
import { configuredGatewayPort, configuredMdnsMode, readOpenclawConfig } from '../../common/openclaw-config.js';
import { resolveStateDir } from '../../common/state-dir.js';
import { DEFAULT_GATEWAY_PORT } from '../../protocol/constants.js';
import { ExitCode, UsageError, parseCommandArgs, portOption, waitForStopSignal } from '../run.js';

const USAGE = [
  'usage: openclaw-ipc gateway [run] [--port N] [--bind loopback|lan|tailnet|custom|auto|<address>] [--tls] [--auth none|token|password] ' +
    '[--token T | --password P] [--state-dir DIR] [--json]',
  'bind: --bind, else gateway.bind (custom: gateway.customBindHost), else loopback. Beyond loopback the Gateway needs auth and TLS:',
  '  --tls (or gateway.tls.enabled) serves wss:// with gateway.tls.certPath/keyPath, or a self-signed certificate generated once.',
  'auth: --auth, else gateway.auth.mode, else password when gateway.auth.password or OPENCLAW_GATEWAY_PASSWORD is set, else token',
  '  (OPENCLAW_GATEWAY_TOKEN, gateway.auth.token, else generated). Prefer the env vars: any user can read --token/--password in `ps`.',
].join('\n');

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(
    argv,
    {
      port: { type: 'string' },
      bind: { type: 'string' },
      tls: { type: 'boolean' },
      auth: { type: 'string' },
      token: { type: 'string' },
      password: { type: 'string' },
      'state-dir': { type: 'string' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  if (!parsed) return ExitCode.ok;
  const { values, positionals } = parsed;
  // `gateway run` is upstream's spelling of the same foreground run.
  if (positionals.length > 1 || (positionals.length === 1 && positionals[0] !== 'run'))
    throw new UsageError(`unexpected argument '${positionals.at(-1)}'\n${USAGE}`);
  const stateDir = values['state-dir'] ?? resolveStateDir();
  const { config } = readOpenclawConfig({ stateDir });
  const { port, host } = portAndHost(values, config);
  const authMode = authModeFrom(values);

  const { startGateway } = await import('../../gateway/index.js');
  const mdns = configuredMdnsMode(config).mode;
  let gateway;
  try {
    gateway = await startGateway({
      ...(host !== undefined ? { host } : { bind: values.bind }),
      port,
      stateDir,
      token: values.token,
      password: values.password,
      authMode,
      mdns,
      ...(values.tls ? { tls: { enabled: true } } : {}),
    });
  } catch (err) {
    if (err instanceof IpcError && err.code === 'ERR_GATEWAY_AUTH_CONFIG') throw new UsageError(err.message);
    if (err instanceof IpcError && (err.code === 'ERR_GATEWAY_PORT_IN_USE' || err.code === 'ERR_GATEWAY_LOCKED')) {
      process.stderr.write(`openclaw-ipc gateway: ${err.message}\n`);
      return ExitCode.locked;
    }
    throw err;
  }
  printReady(gateway, stateDir, values.json === true);

  const signal = await waitForStopSignal();
  await gateway.close(`gateway stopping (${signal})`);
  if (!values.json) process.stdout.write('gateway stopped\n');
  return ExitCode.ok;
}

type GatewayFlags = Partial<Record<'port' | 'bind' | 'auth' | 'token' | 'password', string>>;

/**
 * Port precedence: flag, then OPENCLAW_GATEWAY_PORT (also host:port), then gateway.port, then 18789.
 * A host:port OPENCLAW_GATEWAY_PORT names the bind address when --bind does not.
 */
function portAndHost(
  values: GatewayFlags,
  config: Parameters<typeof configuredGatewayPort>[0],
): { port: number; host: string | undefined } {
  let port = configuredGatewayPort(config) ?? DEFAULT_GATEWAY_PORT;
  let host: string | undefined;
  const envPort = process.env.OPENCLAW_GATEWAY_PORT?.trim();
  if (values.port !== undefined) port = portOption(values.port, '--port');
  else if (envPort) {
    const colon = envPort.lastIndexOf(':');
    if (colon > 0) {
      if (values.bind === undefined) host = envPort.slice(0, colon);
      port = portOption(envPort.slice(colon + 1), 'OPENCLAW_GATEWAY_PORT');
    } else port = portOption(envPort, 'OPENCLAW_GATEWAY_PORT');
  }
  return { port, host };
}

/** The auth mode the flags ask for: --auth, else a password flag means password mode, a token flag token mode. */
function authModeFrom(values: GatewayFlags): GatewayAuthMode | undefined {
  if (values.token !== undefined && values.token.trim() === '') throw new UsageError('--token must not be empty');
  if (values.password !== undefined && values.password.trim() === '')
    throw new UsageError('--password must not be empty');
  if (values.token !== undefined && values.password !== undefined)
    throw new UsageError('use either --token or --password');
  if (values.auth !== undefined && !(GATEWAY_AUTH_MODES as readonly string[]).includes(values.auth))
    throw new UsageError(`--auth must be one of ${GATEWAY_AUTH_MODES.join('|')}`);
  // As upstream's --password does.
  return (values.auth ??
    (values.password !== undefined ? 'password' : values.token !== undefined ? 'token' : undefined)) as
    GatewayAuthMode | undefined;
}

/** The ready line (--json) or the human summary: URL, auth, TLS pin, bind note, Bonjour, state dir. */
function printReady(gateway: GatewayHandle, stateDir: string, json: boolean): void {
  const { mode, source, location } = gateway.auth;
  const tls = gateway.tls;
  if (json) {
    const auth = { mode, source, location };
    const bind = { mode: gateway.bind.mode, host: gateway.host, loopback: gateway.bind.loopbackCompanion };
    const ready = {
      ready: true,
      url: gateway.url,
      port: gateway.port,
      stateDir,
      ...(mode === 'token' ? { token: { source, location } } : {}),
      auth,
      bind,
      discovery: gateway.discovery,
      tls: tls ? { fingerprintSha256: tls.fingerprintSha256, certPath: tls.certPath, generated: tls.generated } : null,
    };
    process.stdout.write(`${JSON.stringify(ready)}\n`);
  } else {
    const bonjour = gateway.discovery.advertising
      ? `advertising ${JSON.stringify(gateway.discovery.instanceName)}`
      : `off (${gateway.discovery.reason})`;
    process.stdout.write(
      `gateway listening on ${gateway.url}${gateway.bind.loopbackCompanion ? ` and ${tls ? 'wss' : 'ws'}://127.0.0.1:${gateway.port}` : ''}\n` +
        `  auth: ${mode}, ${location}${source === 'generated' ? ' (generated now)' : ''}\n` +
        (tls
          ? `  tls: SHA-256 ${tls.fingerprintSha256}${tls.generated ? ' (self-signed, generated now)' : ''}\n` +
            `       nodes: openclaw-ipc node run --host <this host> --port ${gateway.port} --tls --tls-fingerprint ${tls.fingerprintSha256}\n`
          : '') +
        (gateway.bind.note ? `  bind: ${gateway.bind.note}\n` : '') +
        `  bonjour: ${bonjour}\n` +
        `  state: ${stateDir}\n`,
    );
  }
}
