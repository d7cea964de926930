// Option injection on allowlisted tools (security case 23): an allowlist entry names an executable, but
// some tools run arbitrary commands when given certain options (`git -c core.sshCommand=…`,
// `find -exec`, `tar --checkpoint-action`, `rsync -e`). Such argv is not covered by the allowlist entry:
// the policy treats it as a miss, so it is prompted for or denied, never run silently.
import path from 'node:path';

type Detector = (arg: string) => boolean;

const longOption =
  (...names: string[]): Detector =>
  (arg) =>
    names.some((n) => arg === n || arg.startsWith(`${n}=`));
/** A single-dash cluster (`-avze`) that contains one of `letters`. */
const shortCluster =
  (letters: string): Detector =>
  (arg) =>
    /^-[^-]/.test(arg) && [...arg.slice(1)].some((c) => letters.includes(c));

const TOOLS: Record<string, Detector[]> = {
  // -c/--config-env set any config (core.sshCommand, core.pager, alias.*=!cmd); ext:: runs a command as transport.
  git: [
    (a) => a === '-c' || /^-c./.test(a),
    longOption('--config', '--config-env', '--exec-path', '--upload-pack', '--receive-pack', '--template'),
    (a) => a.startsWith('ext::'),
  ],
  find: [(a) => ['-exec', '-execdir', '-ok', '-okdir', '-fprint', '-fprint0', '-fprintf', '-fls'].includes(a)],
  tar: [
    longOption(
      '--checkpoint-action',
      '--to-command',
      '--use-compress-program',
      '--rsh-command',
      '--info-script',
      '--new-volume-script',
    ),
    shortCluster('IF'),
  ],
  rsync: [longOption('--rsh', '--rsync-path'), shortCluster('e')],
};
TOOLS.gtar = TOOLS.tar;
TOOLS.bsdtar = TOOLS.tar;

/** The first argument (after argv[0]) that makes `file` run another command, or undefined. */
export function findOptionInjection(file: string, argv: readonly string[]): string | undefined {
  const detectors = TOOLS[path.basename(file)];
  if (!detectors) return undefined;
  return argv.slice(1).find((arg) => detectors.some((d) => d(arg)));
}
