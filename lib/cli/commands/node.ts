// openclaw-ipc node run [--host 127.0.0.1] [--port 18789] [--tls] [--tls-fingerprint SHA256] [--url ws://…] [--token T | --password P] [--display-name N]
// The headless node host in the foreground. Secrets: --token/--password, else OPENCLAW_GATEWAY_TOKEN /
// OPENCLAW_GATEWAY_PASSWORD, else gateway.auth.token/.password in the state dir's openclaw.json.
// node.json remembers the Gateway (host, port, tls, tlsFingerprint) as upstream's node host does: a
// restart without address flags goes back to it, and a restart to the same host:port keeps the pin.
// SIGINT/SIGTERM close it cleanly.
import { operatorCredentials, resolveOperatorTarget } from '../../client/operator.js';
import { resolveStateDir } from '../../common/state-dir.js';
import { startNodeHost } from '../../node-host/host.js';
import { rememberedGateway, type NodeConfig } from '../../node-host/node-config.js';
import { DEFAULT_GATEWAY_HOST, DEFAULT_GATEWAY_PORT, gatewayWsUrl } from '../../protocol/constants.js';
import { ExitCode, OPERATOR_OPTIONS, UsageError, parseCommandArgs, portOption, SECRET_FLAGS_NOTE } from '../run.js';

const USAGE =
  `usage: openclaw-ipc node run [--host 127.0.0.1] [--port 18789] [--tls] [--tls-fingerprint SHA256] ` +
  `[--url ws://…] [--token T | --password P] [--display-name NAME] [--json]\n${SECRET_FLAGS_NOTE}`;

export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return ExitCode.ok;
  }
  if (sub !== 'run') throw new UsageError(`unknown node subcommand ${JSON.stringify(sub ?? '')}\n${USAGE}`);
  const parsed = parseCommandArgs(
    rest,
    { host: { type: 'string' }, port: { type: 'string' }, 'display-name': { type: 'string' }, ...OPERATOR_OPTIONS },
    USAGE,
    { allowPositionals: false },
  );
  if (!parsed) return ExitCode.ok;
  const { values } = parsed;
  const stateDir = resolveStateDir();
  const address = gatewayAddress(values, stateDir);
  const target = resolveOperatorTarget({
    url: values.url ?? (address ? gatewayWsUrl(address.host, address.port, address.tls) : undefined),
    token: values.token,
    password: values.password,
    tls: values.tls,
    'tls-fingerprint': address?.tlsFingerprint ?? values['tls-fingerprint'],
  });
  // Secrets from env/openclaw.json are re-read at every connect, so a Gateway secret rotation (4001) is followed.
  const nodeHost = startNodeHost({
    url: target.url,
    ...(target.tlsFingerprint ? { tlsFingerprint: target.tlsFingerprint } : {}),
    ...(address
      ? { gateway: { ...address, ...(target.tlsFingerprint ? { tlsFingerprint: target.tlsFingerprint } : {}) } }
      : {}),
    token: target.token,
    password: target.password,
    credentials: operatorCredentials({ token: values.token, password: values.password }),
    stateDir,
    displayName: values['display-name'],
  });

  let stopping = false;
  const stopped = new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`[node-host] ${signal}: shutting down\n`);
      void nodeHost.close().then(() => resolve(ExitCode.ok));
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });

  process.stderr.write(`[node-host] node ${nodeHost.nodeId} (${nodeHost.displayName}) joining ${target.url}\n`);
  try {
    await Promise.race([nodeHost.ready, stopped]);
  } catch (err) {
    await nodeHost.close();
    throw err; // a rejected connect (bad token, protocol mismatch): retrying cannot fix it
  }
  if (!stopping) {
    const info = {
      nodeId: nodeHost.nodeId,
      displayName: nodeHost.displayName,
      gateway: target.url,
      exec: nodeHost.systemRun.mode,
    };
    process.stdout.write(
      values.json
        ? `${JSON.stringify({ ready: true, ...info })}\n`
        : `node host ready: nodeId=${info.nodeId} gateway=${info.gateway}\n`,
    );
  }
  return stopped;
}

/**
 * The Gateway address from --host/--port/--tls, else the one node.json remembers (when no --url and no
 * OPENCLAW_GATEWAY_URL/PORT names another). A pin remembered for the same host:port is reused.
 */
function gatewayAddress(
  values: { url?: string; host?: string; port?: string; tls?: boolean; 'tls-fingerprint'?: string },
  stateDir: string,
): NonNullable<NodeConfig['gateway']> | undefined {
  const port = values.port === undefined ? undefined : portOption(values.port, '--port', 1);
  if (values.url && (values.host || port)) throw new UsageError('use either --url or --host/--port');
  if (values.url) return undefined;
  const remembered = rememberedGateway(stateDir);
  const envNamesOne = Boolean(process.env.OPENCLAW_GATEWAY_URL?.trim() || process.env.OPENCLAW_GATEWAY_PORT?.trim());
  if (!values.host && port === undefined) {
    if (!remembered || envNamesOne) return undefined;
    return values['tls-fingerprint'] !== undefined || values.tls
      ? {
          ...remembered,
          tls: true,
          ...(values['tls-fingerprint'] ? { tlsFingerprint: values['tls-fingerprint'] } : {}),
        }
      : remembered;
  }
  const host = values.host ?? DEFAULT_GATEWAY_HOST;
  const chosenPort = port ?? DEFAULT_GATEWAY_PORT;
  const pin =
    values['tls-fingerprint'] ??
    (remembered?.host === host && remembered.port === chosenPort ? remembered.tlsFingerprint : undefined);
  const tls = values.tls === true || pin !== undefined;
  return { host, port: chosenPort, ...(tls ? { tls } : {}), ...(pin ? { tlsFingerprint: pin } : {}) };
}
