// Running a role as a service. launchd: the plist written for real, parsed back with Python's plistlib
// (what `plutil -lint` checks: well-formed XML plist of the right types) and the launchctl sequence recorded
// (launchctl does not exist here). systemd: the unit passes `systemd-analyze verify`, and against a real
// systemd user manager (test/helpers/systemd-user.ts) the Gateway runs under the strict hardening, answers a
// connect, is restarted with a new pid, and is gone after uninstall; the `up` role runs a command through
// the exec host under its hardening.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import t from 'tap';

import {
  installService,
  restartService,
  serviceStatus,
  uninstallService,
  type CommandResult,
} from '../../lib/service/manager.js';
import { parseLaunchctlPrint, renderPlist } from '../../lib/service/launchd.js';
import { renderUnit } from '../../lib/service/systemd.js';
import { serviceSpec, SERVICE_ROLES } from '../../lib/service/spec.js';
import { cliInProcess, type CliResult } from '../helpers/cli.js';
import { startUserManager, userManagerAvailable } from '../helpers/systemd-user.js';
import { repo } from '../helpers/operator-cli.js';

t.setTimeout(240_000);

const tricky = '/tmp/a&b <c> "d" \'e\' %n';

const PARSE_PLISTS = [
  'import json, plistlib, sys',
  'out = []',
  'for xml in json.load(sys.stdin):',
  '    try: out.append(plistlib.loads(xml.encode()))',
  '    except Exception as e: out.append({"parseError": str(e) or type(e).__name__})',
  'print(json.dumps(out))',
].join('\n');

/** Python's plistlib on each XML text (one python process for all); a refused one is {parseError}. */
function parsePlists(xmls: string[]): Array<Record<string, unknown>> {
  const out = execFileSync('python3', ['-c', PARSE_PLISTS], { input: JSON.stringify(xmls), stdio: 'pipe' });
  return JSON.parse(out.toString()) as Array<Record<string, unknown>>;
}

function parsePlist(xml: string): Record<string, unknown> {
  const [plist] = parsePlists([xml]);
  if (plist!.parseError !== undefined) throw new Error(`not a plist: ${String(plist!.parseError)}`);
  return plist!;
}

t.test('LaunchAgent plist: upstream labels and policy, parsed back, XML-escaped, stable', async (t) => {
  const labels: Record<string, string> = {};
  const specs = SERVICE_ROLES.map((role) =>
    serviceSpec(role, {
      stateDir: tricky,
      platform: 'darwin',
      home: '/Users/u',
      nodePath: '/opt/node/bin/node',
      cliPath: '/opt/oc/dist/cli/main.js',
    }),
  );
  const gatewayDefault = renderPlist(serviceSpec('gateway', { stateDir: '/s', platform: 'darwin' }));
  // The last one is malformed on purpose: the same parser refuses it (the check can fail).
  const malformed = renderPlist(serviceSpec('up', { stateDir: '/s', platform: 'darwin' })).replace('</dict>', '');
  const parsed = parsePlists([...specs.map(renderPlist), gatewayDefault, malformed]);
  for (const [i, spec] of specs.entries()) {
    const plist = parsed[i]!;
    labels[spec.role] = plist.Label as string;
    t.match(plist, {
      RunAtLoad: true,
      KeepAlive: true,
      ExitTimeOut: 20,
      ProcessType: 'Interactive',
      ThrottleInterval: 10,
      Umask: 63,
      StandardInPath: '/dev/null',
      WorkingDirectory: tricky,
      StandardOutPath: /^\/Users\/u\/Library\/Logs\/openclaw\/\w+\.log$/,
      StandardErrorPath: /^\/Users\/u\/Library\/Logs\/openclaw\/\w+\.err\.log$/,
      EnvironmentVariables: { OPENCLAW_STATE_DIR: tricky, OPENCLAW_SERVICE_KIND: spec.role },
    });
    t.same((plist.ProgramArguments as string[]).slice(0, 2), ['/opt/node/bin/node', '/opt/oc/dist/cli/main.js']);
  }
  t.same(labels, {
    up: 'ai.openclaw.ipc',
    gateway: 'ai.openclaw.gateway',
    node: 'ai.openclaw.node',
    app: 'ai.openclaw.mac',
  });
  t.same((parsed[specs.length]!.ProgramArguments as string[]).slice(2), ['gateway', 'run']);
  t.match(parsed[specs.length + 1], { parseError: String }, 'malformed XML is refused');
  t.equal(parsed.length, specs.length + 2);
  t.same(parseLaunchctlPrint('gui/501/ai.openclaw.gateway = {\n\tstate = running\n\tpid = 4242\n}'), {
    loaded: true,
    running: true,
    pid: 4242,
  });
});

t.test('launchd install/restart/uninstall: file written, launchctl sequence as upstream', async (t) => {
  const home = t.testdir();
  const stateDir = path.join(home, 'state');
  const calls: string[][] = [];
  const run = async (argv: string[]): Promise<CommandResult> => {
    calls.push(argv);
    // First install: nothing loaded yet, so bootout answers "not loaded" (exit 113 / "Could not find service").
    if (argv[1] === 'bootout' && calls.filter((c) => c[1] === 'bootout').length === 1)
      return { code: 113, stdout: '', stderr: 'Boot-out failed: 113: Could not find service' };
    if (argv[1] === 'print') return { code: 0, stdout: 'state = running\npid = 777\n', stderr: '' };
    return { code: 0, stdout: '', stderr: '' };
  };
  const ctx = {
    spec: serviceSpec('gateway', { stateDir, platform: 'darwin', home }),
    manager: 'launchd' as const,
    run,
    home,
    domain: 'gui/501',
  };
  const plistPath = path.join(home, 'Library', 'LaunchAgents', 'ai.openclaw.gateway.plist');
  const first = await installService(ctx);
  t.same(first, { path: plistPath, changed: true });
  t.equal(fs.statSync(plistPath).mode & 0o777, 0o644);
  t.equal(parsePlist(fs.readFileSync(plistPath, 'utf8')).Label, 'ai.openclaw.gateway');
  const second = await installService(ctx);
  t.equal(second.changed, false, 'a reinstall writes the same plist (same program path)');
  await restartService(ctx);
  t.match(await serviceStatus(ctx), { installed: true, current: true, loaded: true, running: true, pid: 777 });
  await uninstallService(ctx);
  t.notOk(fs.existsSync(plistPath));
  const install = [
    ['launchctl', 'bootout', 'gui/501/ai.openclaw.gateway'],
    ['launchctl', 'enable', 'gui/501/ai.openclaw.gateway'],
    ['launchctl', 'bootstrap', 'gui/501', plistPath],
    ['launchctl', 'kickstart', '-k', 'gui/501/ai.openclaw.gateway'],
  ];
  t.same(calls, [
    ...install,
    ...install,
    ['launchctl', 'kickstart', '-k', 'gui/501/ai.openclaw.gateway'],
    ['launchctl', 'print', 'gui/501/ai.openclaw.gateway'],
    ['launchctl', 'bootout', 'gui/501/ai.openclaw.gateway'],
  ]);
  // A real failure (not "not loaded") stops the install with the command and its message.
  const failing = {
    ...ctx,
    run: async (argv: string[]) =>
      argv[1] === 'bootstrap'
        ? { code: 5, stdout: '', stderr: 'Bootstrap failed: 5: Input/output error' }
        : { code: 0, stdout: '', stderr: '' },
  };
  await t.rejects(installService(failing), {
    code: 'ERR_SERVICE_COMMAND',
    message: /launchctl bootstrap gui\/501 .* failed: Bootstrap failed/,
  });
});

t.test('systemd unit: systemd-analyze verify, upstream names, hardening per role', async (t) => {
  const dir = t.testdir();
  const have = spawnSync('systemd-analyze', ['--version']).status === 0;
  for (const role of SERVICE_ROLES) {
    const spec = serviceSpec(role, { stateDir: path.join(dir, 'state dir %i') });
    const unit = renderUnit(spec);
    t.match(unit, /^Restart=on-failure$/m);
    t.match(unit, /^NoNewPrivileges=yes$/m);
    t.match(unit, /^Environment="OPENCLAW_STATE_DIR=.*state dir %%i"$/m, '% is escaped, spaces quoted');
    if (role === 'gateway') {
      t.match(unit, /^ProtectSystem=strict$/m);
      t.match(unit, /^ReadWritePaths=".*state dir %%i" ".*state dir %%i\/logs"$/m);
      t.match(unit, /^PrivateTmp=yes$/m);
      t.notMatch(
        renderUnit(serviceSpec(role, { stateDir: '/tmp/x' })),
        /PrivateTmp/,
        'not when the state dir is in /tmp',
      );
    } else {
      t.notMatch(
        unit,
        /ProtectSystem|PrivateTmp|ProtectHome/,
        `${role} runs commands: nothing that changes what they see`,
      );
    }
    t.notMatch(unit, /MemoryDenyWriteExecute/);
    if (!have) continue;
    const file = path.join(dir, `${spec.unit}.service`);
    fs.writeFileSync(file, unit);
    const verify = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
    t.equal(verify.status, 0, `systemd-analyze verify ${spec.unit}: ${verify.stderr}`);
  }
  t.same(
    SERVICE_ROLES.map((r) => serviceSpec(r, { stateDir: '/s' }).unit),
    ['openclaw-ipc', 'openclaw-gateway', 'openclaw-node', 'openclaw-ipc-app'],
  );
  // The check can fail: a unit with a bad directive value is refused.
  if (have) {
    const bad = path.join(dir, 'bad.service');
    fs.writeFileSync(bad, '[Service]\nExecStart=relative/path\n');
    t.not(spawnSync('systemd-analyze', ['verify', bad]).status, 0);
  }
});

const manager = userManagerAvailable();
const built = fs.existsSync(path.join(repo, 'dist', 'cli', 'main.js'));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The CLI in this process (see cliInProcess): the units it installs run the built dist/cli/main.js. */
function cli(bin: 'main' | 'mac', args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return cliInProcess(bin, args, env);
}

let lastAttempt = '';

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  lastAttempt = '';
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last attempt: ${lastAttempt}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

t.test(
  'a real systemd user manager runs the Gateway and the up stack under the hardening',
  { skip: (!manager.ok && manager.reason) || (!built && 'dist/ is not built (npm run build)') },
  async (t) => {
    // HOME (and so the state dir) in the real home, outside /tmp: the Gateway unit then gets PrivateTmp= and
    // its state dir is writable only through ReadWritePaths= under ProtectHome=read-only. A short path too
    // (a Unix socket path has at most 107 bytes).
    const parent = fs.mkdtempSync(path.join(os.homedir(), '.ocipc-svc-'));
    t.teardown(() => fs.rmSync(parent, { recursive: true, force: true }));
    const um = await startUserManager(t, { homeParent: parent });
    const stateDir = path.join(um.env.HOME, 'state with space');
    fs.mkdirSync(stateDir, { mode: 0o700 });
    const port = await freePort();
    fs.writeFileSync(
      path.join(stateDir, 'openclaw.json'),
      JSON.stringify({ gateway: { port, auth: { token: 'tok-service-0123456789' } } }),
      { mode: 0o600 },
    );
    const env = { PATH: process.env.PATH, ...um.env, OPENCLAW_STATE_DIR: stateDir };
    const installed = await cli('main', ['service', 'install', '--role', 'gateway', '--json'], env);
    t.equal(installed.code, 0, installed.stderr);
    const unitFile = path.join(um.env.XDG_CONFIG_HOME, 'systemd', 'user', 'openclaw-gateway.service');
    t.match(JSON.parse(installed.stdout), { ok: true, path: unitFile, changed: true });
    t.match(
      fs.readFileSync(unitFile, 'utf8'),
      /^ProtectSystem=strict$[\s\S]*^PrivateTmp=yes$/m,
      'the strict set is in force',
    );
    const status = await until('the gateway service to run', async () => {
      const s = await cli('main', ['service', 'status', '--role', 'gateway', '--json'], env);
      const parsed = JSON.parse(s.stdout) as {
        running: boolean;
        pid?: number;
        locks: Array<{ state: string; pid?: number }>;
      };
      return parsed.running && parsed.locks[0]?.state === 'live' ? parsed : undefined;
    });
    t.match(status, { installed: true, current: true, loaded: true, running: true });
    t.equal(status.locks[0]!.pid, status.pid, 'the gateway lock is held by the unit main pid');
    const connected = await until('the gateway to answer', async () => {
      const c = await cli('mac', ['connect', '--json', '--timeout', '3000'], env);
      return c.code === 0 ? (JSON.parse(c.stdout) as { status: string; health: { ok: boolean } }) : undefined;
    });
    t.match(connected, { status: 'ok', health: { ok: true } }, 'the Gateway works under ProtectSystem=strict');
    t.ok(fs.existsSync(path.join(stateDir, 'logs', 'gateway.err.log')), 'stderr goes to the log file');

    const restarted = await cli('main', ['service', 'restart', '--role', 'gateway'], env);
    t.equal(restarted.code, 0, restarted.stderr);
    const after = await until('a new main pid', async () => {
      const s = JSON.parse((await cli('main', ['service', 'status', '--role', 'gateway', '--json'], env)).stdout) as {
        running: boolean;
        pid?: number;
      };
      return s.running && s.pid !== status.pid ? s : undefined;
    });
    t.not(after.pid, status.pid);

    const removed = await cli('main', ['service', 'uninstall', '--role', 'gateway', '--json'], env);
    t.equal(removed.code, 0, removed.stderr);
    t.notOk(fs.existsSync(unitFile));
    const gone = JSON.parse((await cli('main', ['service', 'status', '--role', 'gateway', '--json'], env)).stdout) as {
      installed: boolean;
      running: boolean;
    };
    t.match(gone, { installed: false, running: false });

    // The up stack: its exec host spawns a command under NoNewPrivileges and the other kept options.
    const up = await cli('main', ['service', 'install', '--role', 'up'], env);
    t.equal(up.code, 0, up.stderr);
    const approvals = path.join(stateDir, 'exec-approvals.json');
    await until('the exec host to write its approvals file', async () => (fs.existsSync(approvals) ? true : undefined));
    const current = JSON.parse(fs.readFileSync(approvals, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(approvals, JSON.stringify({ ...current, defaults: { security: 'full', ask: 'off' } }), {
      mode: 0o600,
    });
    const device = await until('the node identity', async () => {
      try {
        return JSON.parse(fs.readFileSync(path.join(stateDir, 'identity', 'device.json'), 'utf8')) as {
          deviceId: string;
        };
      } catch {
        return undefined;
      }
    });
    const ran = await until('a command to run through the service', async () => {
      const r = await cli(
        'main',
        [
          'run',
          '--node',
          device.deviceId,
          '--',
          '/bin/sh',
          '-c',
          'echo ran-in-service; grep NoNewPrivs /proc/self/status',
        ],
        env,
      );
      const log = (name: string): string => {
        try {
          return fs.readFileSync(path.join(stateDir, 'logs', name), 'utf8');
        } catch {
          return '(none)';
        }
      };
      lastAttempt = `exit ${r.code}: ${r.stdout} ${r.stderr}; ipc.log: ${log('ipc.log')}; ipc.err.log: ${log('ipc.err.log')}`;
      return r.code === 0 ? r : undefined;
    });
    t.match(ran.stdout, /ran-in-service/);
    t.match(ran.stdout, /NoNewPrivs:\s+1/, 'the command ran with no_new_privs from the unit');
    const upRemoved = await cli('main', ['service', 'uninstall', '--role', 'up'], env);
    t.equal(upRemoved.code, 0, upRemoved.stderr);
  },
);
