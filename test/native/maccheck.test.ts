// The macOS sources compile against Darwin headers (scripts/maccheck.sh over every mac source in
// binding.gyp: peer credentials, process handles, code signing, TCC, and the posix_spawn runner with its
// kqueue exit watcher), and the check is not vacuous: deliberately broken copies of OUR files must fail
// it while unbroken copies in the same place pass. Needs the maccheck toolchain; the skip reason says
// exactly which command sets it up.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

import { repoRoot, runProcess, tempDir } from '../helpers/mac.js';

const script = path.join(repoRoot, 'scripts', 'maccheck.sh');
const macRoot = process.env.MACCHECK_ROOT ?? '/tmp/maccheck/root';
// Same lookup as scripts/maccheck.sh.
const toolDir = [process.env.MACCHECK_DIR, path.join(repoRoot, '..', 'shared', 'tools', 'maccheck')].find(
  (d) => d !== undefined && fs.existsSync(path.join(d, 'check.sh')),
);
const haveClang = spawnSync('clang-16', ['--version'], { stdio: 'ignore' }).status === 0;
const rootEnv = process.env.MACCHECK_ROOT !== undefined ? `MACCHECK_ROOT=${macRoot} ` : '';
const setupCommand = `${rootEnv}MACCHECK_MIRROR=<Apple snapshots folder> bash ${toolDir ?? '<maccheck tool dir>'}/setup.sh`;
const enable =
  `to enable: run \`${setupCommand}\` (MACCHECK_MIRROR = the folder holding the Apple git snapshots ` +
  'apple-oss-distributions+Security/repo and apple+swift-corelibs-foundation/repo; it installs clang-16 and builds ' +
  `${macRoot}), then re-run \`npx tap test/native/maccheck.test.ts\``;
const skip =
  toolDir === undefined
    ? 'maccheck tool not found in ../shared/tools/maccheck (set MACCHECK_DIR)'
    : !fs.existsSync(path.join(macRoot, 'zig'))
      ? `maccheck toolchain missing at ${macRoot}; ${enable}`
      : !haveClang
        ? `clang-16 not installed; ${enable}`
        : false;

// Tens of clang runs (two archs, then one per mutation): about 3 min idle, near 10 min on a loaded 2-core box.
t.setTimeout(1_200_000);

t.test('every macOS source passes (both archs, syntax + object + symbols)', { skip }, async (t) => {
  const res = await runProcess('bash', [script], { cwd: repoRoot });
  if (res.code !== 0) t.comment(res.stdout + res.stderr);
  t.equal(res.code, 0, 'scripts/maccheck.sh exits 0');
  const summary = /^(\d+) passed, (\d+) failed$/m.exec(res.stdout);
  t.ok(summary, 'summary line');
  t.equal(summary?.[2], '0', 'no failures');
  const files = [
    'native/mac/peercred.mm',
    'native/mac/codesign.mm',
    'native/mac/tcc.mm',
    'native/mac/procwatch.cc',
    'native/posix/spawn.cc',
    'native/addon.cc',
  ];
  for (const file of files) {
    for (const arch of ['arm64', 'x86_64']) {
      t.match(
        res.stdout,
        new RegExp(`^ok   : ${arch}-apple-macos11\\.0 obj    ${file.replace(/\./g, '\\.')} \\(Mach-O`, 'm'),
        `${arch} ${file}`,
      );
    }
  }
  t.match(
    res.stdout,
    /^ok {3}: arm64-apple-macos11\.0 symbols: [1-9]\d* oc_\* functions referenced, all defined once/m,
  );
});

// [file under native/, what breaks, from, to]: each must be caught by the compile check.
const mutations: Array<[string, string, string, string]> = [
  [
    'mac/peercred.mm',
    'misspelled socket option',
    'GetLocalOpt(fd, LOCAL_PEERTOKEN,',
    'GetLocalOpt(fd, LOCAL_PEER_TOKEN,',
  ],
  ['mac/peercred.mm', 'wrong LOCAL_PEERTOKEN value (0x005 bug)', 'LOCAL_PEERTOKEN == 6', 'LOCAL_PEERTOKEN == 5'],
  ['mac/peercred.mm', 'audit token passed by pointer', 'audit_token_to_euid(token)', 'audit_token_to_euid(&token)'],
  ['mac/peercred.mm', 'csops_audittoken without the token', 'sizeof(status), &copy)', 'sizeof(status))'],
  [
    'mac/peercred.mm',
    'proc_pidpath misspelled',
    'proc_pidpath(audit_token_to_pid(token),',
    'proc_pid_path(audit_token_to_pid(token),',
  ],
  [
    'mac/peercred.mm',
    'platform.h contract drift (token handle)',
    'int oc_token_alive(const uint8_t* token_bytes, size_t token_len, int32_t* alive) {',
    'int oc_token_alive(const uint8_t* token_bytes, int32_t* alive) {',
  ],
  ['mac/codesign.mm', 'guest attribute name', '{kSecGuestAttributeAudit}', '{kSecGuestAttributeAuditToken}'],
  [
    'mac/codesign.mm',
    'SecCodeCheckValidity argument count',
    'SecCodeCheckValidity(code.get(), kSecCSDefaultFlags, nullptr)',
    'SecCodeCheckValidity(code.get(), nullptr)',
  ],
  [
    'mac/codesign.mm',
    'platform.h contract drift',
    'int oc_code_identity(const oc_code_target_t* target, oc_code_identity_t* out) {',
    'int oc_code_identity(const oc_code_target_t* target, int* out) {',
  ],
  [
    'mac/tcc.mm',
    'AVCaptureDevice selector',
    'authorizationStatusForMediaType:type]',
    'authorizationStatusForMedia:type]',
  ],
  [
    'mac/tcc.mm',
    'unbounded semaphore wait signature',
    'dispatch_semaphore_wait(pending->done, deadline)',
    'dispatch_semaphore_wait(pending->done)',
  ],
  [
    'mac/tcc.mm',
    'completion block signature',
    'completionHandler:^(BOOL granted) {',
    'completionHandler:^(NSError* granted) {',
  ],
  ['mac/procwatch.cc', 'kqueue filter name', 'EVFILT_PROC, EV_ADD, NOTE_EXIT', 'EVFILT_PROCESS, EV_ADD, NOTE_EXIT'],
  [
    'mac/procwatch.cc',
    'pipe2 (Linux only) in the macOS pipe helper',
    'if (pipe(fds) != 0) return errno;',
    'if (pipe2(fds, O_CLOEXEC) != 0) return errno;',
  ],
  [
    'mac/procwatch.cc',
    'closefrom_np (glibc only) instead of inherit_np',
    'posix_spawn_file_actions_addinherit_np(actions, fd)',
    'posix_spawn_file_actions_addclosefrom_np(actions, 3)',
  ],
  [
    'mac/procwatch.cc',
    'misspelled Apple spawn flag',
    'POSIX_SPAWN_CLOEXEC_DEFAULT | POSIX_SPAWN_START_SUSPENDED',
    'POSIX_SPAWN_CLOEXEC_DEFAULTS | POSIX_SPAWN_START_SUSPENDED',
  ],
  [
    'mac/procwatch.cc',
    'kevent argument count',
    'if (kevent(kq, &ev, 1, nullptr, 0, nullptr) != 0) {',
    'if (kevent(kq, &ev, 1, nullptr, 0) != 0) {',
  ],
  [
    'posix/spawn.cc',
    'pipe2 back in the shared runner',
    'int perr = oc_pipe_cloexec(out_pipe, 0);',
    'int perr = pipe2(out_pipe, O_CLOEXEC) != 0 ? errno : 0;',
  ],
  [
    'posix/spawn.cc',
    'closefrom_np back in the shared runner',
    'if (rc == 0) rc = oc_spawn_prepare(&actions, &flags, req.exec_fd);',
    'if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&actions, 3);',
  ],
];

// A scratch copy of the native/ tree, so a broken file resolves its relative includes exactly like the
// original (no include path points at native/ in the real builds either).
function scratchNative(dir: string): string {
  const root = path.join(dir, 'native');
  fs.cpSync(path.join(repoRoot, 'native'), root, { recursive: true });
  return root;
}

t.test('broken copies of our sources are caught; unbroken copies in the same place pass', { skip }, async (t) => {
  const dir = tempDir('ocmac-mut-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const root = scratchNative(dir);
  const env = { ...process.env, MACCHECK_ARCHS: 'arm64' };
  const controls = [...new Set(mutations.map(([file]) => file))];
  const control = await runProcess('bash', [script, ...controls.map((f) => path.join(root, f))], {
    cwd: repoRoot,
    env,
  });
  if (control.code !== 0) t.comment(control.stdout + control.stderr);
  t.equal(control.code, 0, `unmutated scratch copies pass (${controls.join(', ')})`);
  for (const [file, what, from, to] of mutations) {
    const target = path.join(root, file);
    const source = fs.readFileSync(path.join(repoRoot, 'native', file), 'utf8');
    t.ok(source.includes(from), `${file}: mutation anchor present (${what})`);
    fs.writeFileSync(target, source.replace(from, to));
    const res = await runProcess('bash', [script, target], { cwd: repoRoot, env });
    fs.writeFileSync(target, source);
    t.not(res.code, 0, `${file}: ${what} is caught`);
    t.match(res.stdout, /error:/, `${file}: ${what} reported as a compile error`);
  }
});

t.test(
  'a deployment target below macOS 10.15 is refused (posix_spawn_file_actions_addchdir_np)',
  { skip },
  async (t) => {
    const dir = tempDir('ocmac-deploy-');
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const gyp = fs.readFileSync(path.join(repoRoot, 'binding.gyp'), 'utf8');
    t.match(gyp, /"MACOSX_DEPLOYMENT_TARGET": "11\.0"/, 'binding.gyp targets 11.0');
    const variant = path.join(dir, 'binding.gyp');
    fs.writeFileSync(variant, gyp.replace('"MACOSX_DEPLOYMENT_TARGET": "11.0"', '"MACOSX_DEPLOYMENT_TARGET": "10.14"'));
    const res = await runProcess('bash', [script], {
      cwd: repoRoot,
      env: { ...process.env, MACCHECK_ARCHS: 'x86_64', MACCHECK_GYP: variant },
    });
    t.not(res.code, 0, 'maccheck.sh fails');
    t.match(res.stdout, /needs MACOSX_DEPLOYMENT_TARGET >= 10\.15/, 'procwatch.cc refuses the target');
    t.match(
      res.stdout,
      /'posix_spawn_file_actions_addchdir_np' is only available on macOS 10\.15/,
      'spawn.cc call is flagged too',
    );
  },
);

t.test('the symbol check notices a platform.h function no mac source defines', { skip }, async (t) => {
  const dir = tempDir('ocmac-gyp-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // binding.gyp without tcc.mm: every file still compiles, but oc_tcc_status/oc_tcc_request are unresolved.
  const gyp = fs.readFileSync(path.join(repoRoot, 'binding.gyp'), 'utf8');
  t.ok(gyp.includes('"native/mac/tcc.mm"'), 'binding.gyp lists tcc.mm');
  const variant = path.join(dir, 'binding.gyp');
  fs.writeFileSync(variant, gyp.replace(/,\s*"native\/mac\/tcc\.mm"|"native\/mac\/tcc\.mm",\s*/, ''));
  const res = await runProcess('bash', [script], {
    cwd: repoRoot,
    env: { ...process.env, MACCHECK_ARCHS: 'arm64', MACCHECK_GYP: variant },
  });
  t.not(res.code, 0, 'maccheck.sh fails');
  t.notMatch(res.stdout, /tcc\.mm/, 'tcc.mm was left out');
  t.match(res.stdout, /^FAIL : arm64-apple-macos11\.0 symbols: undefined \[[^\]]*_oc_tcc_request[^\]]*_oc_tcc_status/m);
});

t.test(
  'the symbol check notices a missing exit watcher (runner without native/mac/procwatch.cc)',
  { skip },
  async (t) => {
    const dir = tempDir('ocmac-gyp-');
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const gyp = fs.readFileSync(path.join(repoRoot, 'binding.gyp'), 'utf8');
    t.ok(gyp.includes('"native/mac/procwatch.cc"'), 'binding.gyp lists procwatch.cc');
    const variant = path.join(dir, 'binding.gyp');
    fs.writeFileSync(variant, gyp.replace(/,\s*"native\/mac\/procwatch\.cc"|"native\/mac\/procwatch\.cc",\s*/, ''));
    const res = await runProcess('bash', [script], {
      cwd: repoRoot,
      env: { ...process.env, MACCHECK_ARCHS: 'arm64', MACCHECK_GYP: variant },
    });
    t.not(res.code, 0, 'maccheck.sh fails');
    t.notMatch(res.stdout, /procwatch\.cc/, 'procwatch.cc was left out');
    t.match(
      res.stdout,
      /^FAIL : arm64-apple-macos11\.0 symbols: undefined \[[^\]]*_oc_pipe_cloexec[^\]]*_oc_proc_exit_fd[^\]]*_oc_spawn_prepare[^\]]*_oc_spawn_resume/m,
    );
  },
);
