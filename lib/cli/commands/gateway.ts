// openclaw-ipc gateway [--port N] [--bind loopback|lan|<address>] [--token T] [--state-dir DIR] [--json]
// Runs the Gateway in the foreground until SIGINT/SIGTERM, then shuts down cleanly (shutdown event,
// close 1012 to every client).
import path from 'node:path';

import { IpcError } from '../../common/errors.js';
import { readJsonFile, resolveStateDir } from '../../common/state-dir.js';
import { DEFAULT_GATEWAY_HOST, DEFAULT_GATEWAY_PORT } from '../../protocol/constants.js';
import { ExitCode, UsageError, parseCommandArgs, portOption, waitForStopSignal } from '../run.js';

const USAGE = 'usage: openclaw-ipc gateway [--port N] [--bind loopback|lan|<address>] [--token T] [--state-dir DIR] [--json]';

/** `gateway.port` from <state>/openclaw.json, when it is a valid port. */
function configuredPort(stateDir: string): number | undefined {
  const config = readJsonFile<{ gateway?: { port?: unknown } }>(path.join(stateDir, 'openclaw.json'));
  const port = config?.gateway?.port;
  return typeof port === 'number' && Number.isInteger(port) && port >= 0 && port <= 65535 ? port : undefined;
}

function bindAddress(bind: string): string {
  if (bind === 'loopback') return DEFAULT_GATEWAY_HOST;
  if (bind === 'lan' || bind === 'auto') return '0.0.0.0';
  return bind;
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(argv, {
    port: { type: 'string' }, bind: { type: 'string' }, token: { type: 'string' }, 'state-dir': { type: 'string' }, json: { type: 'boolean' },
  }, USAGE, { allowPositionals: false });
  if (!parsed) return ExitCode.ok;
  const { values } = parsed;
  const stateDir = values['state-dir'] ?? resolveStateDir();
  // Port precedence: flag, then OPENCLAW_GATEWAY_PORT (also host:port), then gateway.port, then 18789.
  let port = configuredPort(stateDir) ?? DEFAULT_GATEWAY_PORT;
  let host = bindAddress(values.bind ?? 'loopback');
  const envPort = process.env.OPENCLAW_GATEWAY_PORT?.trim();
  if (values.port !== undefined) port = portOption(values.port, '--port');
  else if (envPort) {
    const colon = envPort.lastIndexOf(':');
    if (colon > 0) {
      if (values.bind === undefined) host = envPort.slice(0, colon);
      port = portOption(envPort.slice(colon + 1), 'OPENCLAW_GATEWAY_PORT');
    } else port = portOption(envPort, 'OPENCLAW_GATEWAY_PORT');
  }
  if (values.token !== undefined && values.token.trim() === '') throw new UsageError('--token must not be empty');

  const { startGateway } = await import('../../gateway/index.js');
  let gateway;
  try {
    gateway = await startGateway({ host, port, stateDir, token: values.token });
  } catch (err) {
    if (err instanceof IpcError && (err.code === 'ERR_GATEWAY_PORT_IN_USE' || err.code === 'ERR_GATEWAY_LOCKED')) {
      process.stderr.write(`openclaw-ipc gateway: ${err.message}\n`);
      return ExitCode.locked;
    }
    throw err;
  }
  const tokenLocation =
    gateway.tokenSource === 'env' ? '$OPENCLAW_GATEWAY_TOKEN' : gateway.tokenSource === 'option' ? '--token (not stored)' : `${gateway.configPath} (gateway.auth.token)`;
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ ready: true, url: gateway.url, port: gateway.port, stateDir, token: { source: gateway.tokenSource, location: tokenLocation } })}\n`);
  } else {
    process.stdout.write(`gateway listening on ${gateway.url}\n  token: ${tokenLocation}${gateway.tokenSource === 'generated' ? ' (generated now)' : ''}\n  state: ${stateDir}\n`);
  }

  const signal = await waitForStopSignal();
  await gateway.close(`gateway stopping (${signal})`);
  if (!values.json) process.stdout.write('gateway stopped\n');
  return ExitCode.ok;
}
