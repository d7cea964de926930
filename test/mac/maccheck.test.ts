// The macOS sources compile against Darwin headers (scripts/maccheck.sh over every mac source in
// binding.gyp), and the check is not vacuous: deliberately broken copies of OUR files must fail it.
// Needs the maccheck tree (../shared/tools/maccheck/setup.sh); skipped with that reason otherwise.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

import { repoRoot, runProcess, tempDir } from './helpers.js';

const script = path.join(repoRoot, 'scripts', 'maccheck.sh');
const macRoot = process.env.MACCHECK_ROOT ?? '/tmp/maccheck/root';
const haveClang = spawnSync('clang-16', ['--version'], { stdio: 'ignore' }).status === 0;
const skip = !fs.existsSync(path.join(macRoot, 'zig')) ? `maccheck tree missing at ${macRoot} (run shared/tools/maccheck/setup.sh)`
  : !haveClang ? 'clang-16 not installed' : false;

t.setTimeout(600_000);

t.test('every macOS source passes (both archs, syntax + object + symbols)', { skip }, async (t) => {
  const res = await runProcess('bash', [script], { cwd: repoRoot });
  if (res.code !== 0) t.comment(res.stdout + res.stderr);
  t.equal(res.code, 0, 'scripts/maccheck.sh exits 0');
  const summary = /^(\d+) passed, (\d+) failed$/m.exec(res.stdout);
  t.ok(summary, 'summary line');
  t.equal(summary?.[2], '0', 'no failures');
  for (const file of ['native/mac/peercred.mm', 'native/mac/codesign.mm', 'native/mac/tcc.mm', 'native/addon.cc']) {
    for (const arch of ['arm64', 'x86_64']) {
      t.match(res.stdout, new RegExp(`^ok   : ${arch}-apple-macos11\\.0 obj    ${file.replace(/\./g, '\\.')} \\(Mach-O`, 'm'), `${arch} ${file}`);
    }
  }
  t.match(res.stdout, /^ok {3}: arm64-apple-macos11\.0 symbols: [1-9]\d* oc_\* functions referenced, all defined once/m);
});

// [file, what breaks, from, to]: each must be caught by the compile check.
const mutations: Array<[string, string, string, string]> = [
  ['peercred.mm', 'misspelled socket option', 'GetLocalOpt(fd, LOCAL_PEERTOKEN,', 'GetLocalOpt(fd, LOCAL_PEER_TOKEN,'],
  ['peercred.mm', 'wrong LOCAL_PEERTOKEN value (0x005 bug)', 'LOCAL_PEERTOKEN == 6', 'LOCAL_PEERTOKEN == 5'],
  ['peercred.mm', 'audit token passed by pointer', 'audit_token_to_euid(token)', 'audit_token_to_euid(&token)'],
  ['codesign.mm', 'guest attribute name', '{kSecGuestAttributeAudit}', '{kSecGuestAttributeAuditToken}'],
  ['codesign.mm', 'SecCodeCheckValidity argument count', 'SecCodeCheckValidity(code.get(), kSecCSDefaultFlags, nullptr)', 'SecCodeCheckValidity(code.get(), nullptr)'],
  ['codesign.mm', 'platform.h contract drift', 'int oc_code_identity(const oc_code_target_t* target, oc_code_identity_t* out) {', 'int oc_code_identity(const oc_code_target_t* target, int* out) {'],
  ['tcc.mm', 'AVCaptureDevice selector', 'authorizationStatusForMediaType:type]', 'authorizationStatusForMedia:type]'],
  ['tcc.mm', 'unbounded semaphore wait signature', 'dispatch_semaphore_wait(pending->done, deadline)', 'dispatch_semaphore_wait(pending->done)'],
  ['tcc.mm', 'completion block signature', 'completionHandler:^(BOOL granted) {', 'completionHandler:^(NSError* granted) {'],
];

t.test('broken copies of our sources are caught', { skip }, async (t) => {
  const dir = tempDir('ocmac-mut-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const [file, what, from, to] of mutations) {
    const source = fs.readFileSync(path.join(repoRoot, 'native', 'mac', file), 'utf8');
    t.ok(source.includes(from), `${file}: mutation anchor present (${what})`);
    const broken = path.join(dir, file);
    fs.writeFileSync(broken, source.replace(from, to));
    const res = await runProcess('bash', [script, broken], { cwd: repoRoot, env: { ...process.env, MACCHECK_ARCHS: 'arm64' } });
    t.not(res.code, 0, `${file}: ${what} is caught`);
    t.match(res.stdout, /error:/, `${file}: ${what} reported as a compile error`);
  }
});

t.test('the symbol check notices a platform.h function no mac source defines', { skip }, async (t) => {
  const dir = tempDir('ocmac-gyp-');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // binding.gyp without tcc.mm: every file still compiles, but oc_tcc_status/oc_tcc_request are unresolved.
  const gyp = fs.readFileSync(path.join(repoRoot, 'binding.gyp'), 'utf8');
  t.ok(gyp.includes('"native/mac/tcc.mm"'), 'binding.gyp lists tcc.mm');
  const variant = path.join(dir, 'binding.gyp');
  fs.writeFileSync(variant, gyp.replace(/,\s*"native\/mac\/tcc\.mm"|"native\/mac\/tcc\.mm",\s*/, ''));
  const res = await runProcess('bash', [script], { cwd: repoRoot, env: { ...process.env, MACCHECK_ARCHS: 'arm64', MACCHECK_GYP: variant } });
  t.not(res.code, 0, 'maccheck.sh fails');
  t.notMatch(res.stdout, /tcc\.mm/, 'tcc.mm was left out');
  t.match(res.stdout, /^FAIL : arm64-apple-macos11\.0 symbols: undefined \[[^\]]*_oc_tcc_request[^\]]*_oc_tcc_status/m);
});
