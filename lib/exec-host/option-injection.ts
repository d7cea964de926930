// Option injection (security case 23, issue 7 item 2): some tools run a program when given certain
// options (`tar --checkpoint-action=exec=…`, `find -exec`, `sort --compress-program`, `rsync -e`,
// `sed 'e …'`). A list of dangerous options always misses one (abbreviations, clusters, old-style tar
// keys, an option added in the next release), so each inspected tool has a POSITIVE model instead: the
// options known to be safe, parsed the way the real parser reads them (getopt.ts), and anything else is an
// allowlist miss that asks. git has its own model (git-model.ts). Tools are recognised by canonical name.
import { getopt, longOptions, shortOptions, type OptionTable, type ParsedOption } from './getopt.js';
import { gitModel } from './git-model.js';
import type { ModelVerdict, ToolModel } from './tool-model.js';

export type { ModelContext, ModelVerdict, ToolModel } from './tool-model.js';
import { sedScriptRefusal } from './sed-script.js';

const refuse = (tool: string, what: string): ModelVerdict => ({ refused: `${tool} ${what}` });

/** Runs getopt and a per-option check; the original argv is run unchanged. */
function getoptModel(
  tool: string,
  table: OptionTable,
  extra?: (options: ParsedOption[], operands: string[]) => string | undefined,
): ToolModel['check'] {
  return (argv) => {
    const parsed = getopt(argv.slice(1), table);
    if (!parsed.ok) return refuse(tool, parsed.refused);
    const why = extra?.(parsed.options, parsed.operands);
    return why ? refuse(tool, why) : { argv: [...argv] };
  };
}

// ---- GNU tar ----

const TAR_TABLE: OptionTable = {
  // Not here: -F (info script), -I (compress program), -T (files-from: its lines may be options),
  // -M/-L (multi-volume prompts offer a shell), -w (interactive).
  short: shortOptions('AcdrtuxC:g:GnSkUWOmpsf:b:BiH:V:ajJzZhK:N:PlRvoX:'),
  long: longOptions([
    'absolute-names',
    'acls',
    'add-file=',
    'after-date=',
    'anchored',
    'append',
    'atime-preserve=?',
    'auto-compress',
    'backup=?',
    'block-number',
    'blocking-factor=',
    'bzip2',
    'catenate',
    'check-device',
    'check-links',
    'checkpoint=?',
    'clamp-mtime',
    'compare',
    'compress',
    'concatenate',
    'create',
    'delay-directory-restore',
    'delete',
    'dereference',
    'diff',
    'directory=',
    'exclude=',
    'exclude-backups',
    'exclude-caches',
    'exclude-caches-all',
    'exclude-caches-under',
    'exclude-from=',
    'exclude-ignore=',
    'exclude-ignore-recursive=',
    'exclude-tag=',
    'exclude-tag-all=',
    'exclude-tag-under=',
    'exclude-vcs',
    'exclude-vcs-ignores',
    'extract',
    'file=',
    'force-local',
    'format=',
    'full-time',
    'get',
    'group=',
    'group-map=',
    'gunzip',
    'gzip',
    'hard-dereference',
    'help',
    'hole-detection=',
    'ignore-case',
    'ignore-command-error',
    'ignore-failed-read',
    'ignore-zeros',
    'incremental',
    'index-file=',
    'keep-directory-symlink',
    'keep-newer-files',
    'keep-old-files',
    'label=',
    'level=',
    'list',
    'listed-incremental=',
    'lzip',
    'lzma',
    'lzop',
    'mode=',
    'mtime=',
    'newer=',
    'newer-mtime=',
    'no-acls',
    'no-anchored',
    'no-auto-compress',
    'no-check-device',
    'no-delay-directory-restore',
    'no-ignore-case',
    'no-ignore-command-error',
    'no-null',
    'no-overwrite-dir',
    'no-quote-chars=',
    'no-recursion',
    'no-same-owner',
    'no-same-permissions',
    'no-seek',
    'no-selinux',
    'no-unquote',
    'no-verbatim-files-from',
    'no-wildcards',
    'no-wildcards-match-slash',
    'no-xattrs',
    'null',
    'numeric-owner',
    'occurrence=?',
    'old-archive',
    'one-file-system',
    'one-top-level=?',
    'overwrite',
    'overwrite-dir',
    'owner=',
    'owner-map=',
    'pax-option=',
    'portability',
    'posix',
    'preserve-order',
    'preserve-permissions',
    'quote-chars=',
    'quoting-style=',
    'read-full-records',
    'record-size=',
    'recursion',
    'recursive-unlink',
    'remove-files',
    'restrict',
    'same-order',
    'same-owner',
    'same-permissions',
    'seek',
    'selinux',
    'show-defaults',
    'show-omitted-dirs',
    'show-snapshot-field-ranges',
    'show-stored-names',
    'show-transformed-names',
    'skip-old-files',
    'sort=',
    'sparse',
    'sparse-version=',
    'starting-file=',
    'strip-components=',
    'suffix=',
    'test-label',
    'to-stdout',
    'totals=?',
    'touch',
    'transform=',
    'uncompress',
    'ungzip',
    'unlink-first',
    'unquote',
    'update',
    'usage',
    'utc',
    'verbatim-files-from',
    'verbose',
    'verify',
    'version',
    'warning=',
    'wildcards',
    'wildcards-match-slash',
    'xattrs',
    'xattrs-exclude=',
    'xattrs-include=',
    'xform=',
    'xz',
    'zstd',
  ]),
  unsafeLong: [
    'checkpoint-action',
    'confirmation',
    'files-from',
    'info-script',
    'interactive',
    'multi-volume',
    'new-volume-script',
    'rmt-command',
    'rsh-command',
    'tape-length',
    'to-command',
    'use-compress-program',
    'volno-file',
  ],
  abbreviations: true,
};

/**
 * GNU tar's old-style first argument (`tar cvf a.tar dir`): a cluster of keys without a dash whose
 * argument-taking letters consume the following words in order. Rewritten to dashed options.
 */
export function expandOldStyleTar(args: readonly string[]): string[] | { refused: string } {
  const first = args[0];
  if (first === undefined || first.startsWith('-')) return [...args];
  const expanded: string[] = [];
  let next = 1;
  for (const letter of first) {
    expanded.push(`-${letter}`);
    if (TAR_TABLE.short![letter] === 'required') {
      if (next >= args.length) return { refused: `key ${letter} needs a value` };
      expanded.push(args[next++]);
    }
  }
  return [...expanded, ...args.slice(next)];
}

/** GNU tar reads `host:file` (a colon before any slash) as a remote archive reached through rsh/ssh. */
function isRemoteArchive(name: string): boolean {
  const colon = name.indexOf(':');
  return colon > 0 && !name.slice(0, colon).includes('/');
}

const tarCheck = getoptModel('tar', TAR_TABLE, (options) => {
  if (options.some((o) => o.name === '--force-local')) return undefined;
  const remote = options.find((o) => (o.name === '-f' || o.name === '--file') && isRemoteArchive(o.value ?? ''));
  return remote ? `${remote.name} ${remote.value} (a remote archive runs rsh/ssh; add --force-local)` : undefined;
});

const tarModel: ToolModel = {
  globSafe: true,
  check: (argv, context) => {
    const expanded = expandOldStyleTar(argv.slice(1));
    if (!Array.isArray(expanded)) return refuse('tar', expanded.refused);
    const verdict = tarCheck([argv[0], ...expanded], context);
    return 'refused' in verdict ? verdict : { argv: [...argv] };
  },
};

// ---- GNU find ----

const FIND_NO_ARG = new Set([
  '(',
  ')',
  '!',
  ',',
  '-not',
  '-a',
  '-and',
  '-o',
  '-or',
  '-daystart',
  '-follow',
  '-nowarn',
  '-warn',
  '-depth',
  '-d',
  '-mount',
  '-xdev',
  '-noleaf',
  '-ignore_readdir_race',
  '-noignore_readdir_race',
  '-empty',
  '-false',
  '-true',
  '-nouser',
  '-nogroup',
  '-readable',
  '-writable',
  '-executable',
  '-delete',
  '-print',
  '-print0',
  '-ls',
  '-prune',
  '-quit',
]);
const FIND_ONE_ARG = new Set([
  '-regextype',
  '-files0-from',
  '-maxdepth',
  '-mindepth',
  '-amin',
  '-anewer',
  '-atime',
  '-cmin',
  '-cnewer',
  '-context',
  '-ctime',
  '-fstype',
  '-gid',
  '-group',
  '-ilname',
  '-iname',
  '-inum',
  '-ipath',
  '-iregex',
  '-iwholename',
  '-links',
  '-lname',
  '-mmin',
  '-mtime',
  '-name',
  '-newer',
  '-path',
  '-perm',
  '-regex',
  '-samefile',
  '-size',
  '-type',
  '-uid',
  '-used',
  '-user',
  '-wholename',
  '-xtype',
  '-printf',
]);

/** find's own grammar: leading options, start paths, then an expression of known primaries only. */
function findCheck(argv: readonly string[]): ModelVerdict {
  const args = argv.slice(1);
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i];
    if (arg === '-H' || arg === '-L' || arg === '-P' || /^-O\d*$/.test(arg)) continue;
    if (arg === '-D') {
      if (++i >= args.length) return refuse('find', '-D needs a value');
      continue;
    }
    break;
  }
  while (i < args.length && !args[i].startsWith('-') && !['(', ')', '!', ','].includes(args[i])) i++;
  for (; i < args.length; i++) {
    const token = args[i];
    if (FIND_NO_ARG.has(token)) continue;
    if (FIND_ONE_ARG.has(token) || /^-newer[aBcm][aBcmt]$/.test(token)) {
      if (++i >= args.length) return refuse('find', `${token} needs a value`);
      continue;
    }
    return refuse('find', token);
  }
  return { argv: [...argv] };
}

// ---- GNU sort ----

const SORT_TABLE: OptionTable = {
  short: shortOptions('bdfghiMnRrVcCk:mo:sS:t:T:uz'),
  long: longOptions([
    'batch-size=',
    'buffer-size=',
    'check=?',
    'debug',
    'dictionary-order',
    'field-separator=',
    'files0-from=',
    'general-numeric-sort',
    'help',
    'human-numeric-sort',
    'ignore-case',
    'ignore-leading-blanks',
    'ignore-nonprinting',
    'key=',
    'merge',
    'month-sort',
    'numeric-sort',
    'output=',
    'parallel=',
    'random-sort',
    'random-source=',
    'reverse',
    'sort=',
    'stable',
    'temporary-directory=',
    'unique',
    'version',
    'version-sort',
    'zero-terminated',
  ]),
  unsafeLong: ['compress-program'],
  abbreviations: true,
};

// ---- rsync (popt: exact long names) ----

const RSYNC_TABLE: OptionTable = {
  short: shortOptions('vqcarRbuldLkKHpEAXogDtUNOJmnWxyzhiPSCF0f:T:B:'),
  long: longOptions([
    'verbose',
    'quiet',
    'checksum',
    'archive',
    'recursive',
    'relative',
    'no-implied-dirs',
    'backup',
    'backup-dir=',
    'suffix=',
    'update',
    'inplace',
    'append',
    'append-verify',
    'dirs',
    'mkpath',
    'links',
    'copy-links',
    'copy-unsafe-links',
    'safe-links',
    'munge-links',
    'copy-dirlinks',
    'keep-dirlinks',
    'hard-links',
    'perms',
    'executability',
    'chmod=',
    'acls',
    'xattrs',
    'owner',
    'group',
    'devices',
    'specials',
    'times',
    'atimes',
    'crtimes',
    'omit-dir-times',
    'omit-link-times',
    'super',
    'fake-super',
    'sparse',
    'preallocate',
    'dry-run',
    'whole-file',
    'checksum-choice=',
    'one-file-system',
    'block-size=',
    'existing',
    'ignore-existing',
    'remove-source-files',
    'delete',
    'delete-before',
    'delete-during',
    'delete-delay',
    'delete-after',
    'delete-excluded',
    'ignore-missing-args',
    'delete-missing-args',
    'ignore-errors',
    'force',
    'max-delete=',
    'max-size=',
    'min-size=',
    'partial',
    'partial-dir=',
    'delay-updates',
    'prune-empty-dirs',
    'numeric-ids',
    'usermap=',
    'groupmap=',
    'chown=',
    'timeout=',
    'contimeout=',
    'ignore-times',
    'size-only',
    'modify-window=',
    'temp-dir=',
    'fuzzy',
    'compare-dest=',
    'copy-dest=',
    'link-dest=',
    'compress',
    'compress-choice=',
    'compress-level=',
    'skip-compress=',
    'cvs-exclude',
    'filter=',
    'exclude=',
    'exclude-from=',
    'include=',
    'include-from=',
    'from0',
    'protect-args',
    'secluded-args',
    'trust-sender',
    'copy-devices',
    'write-devices',
    'stats',
    '8-bit-output',
    'human-readable',
    'progress',
    'itemize-changes',
    'out-format=',
    'info=',
    'debug=',
    'stderr=',
    'list-only',
    'bwlimit=',
    'stop-after=',
    'stop-at=',
    'fsync',
    'iconv=',
    'ipv4',
    'ipv6',
    'port=',
    'version',
    'help',
  ]),
  unsafeLong: ['rsh', 'rsync-path', 'remote-option', 'server', 'daemon', 'sender', 'write-batch', 'read-batch'],
  abbreviations: false,
};

/** `[user@]host:path` / `host::module`: rsync runs ssh for the first; a host starting with `-` is an ssh option. */
function rsyncOperandRefusal(_options: ParsedOption[], operands: string[]): string | undefined {
  for (const operand of operands) {
    if (operand.startsWith('rsync://')) continue;
    const colon = operand.indexOf(':');
    if (colon <= 0 || operand.slice(0, colon).includes('/')) continue;
    const host = operand.slice(0, colon).replace(/^[^@]*@/, '');
    if (!/^[A-Za-z0-9_.[\]-]+$/.test(host) || host.startsWith('-')) return `remote ${JSON.stringify(operand)}`;
  }
  return undefined;
}

// ---- GNU sed ----

const SED_TABLE: OptionTable = {
  short: shortOptions('nEe:rsi::l:uz'),
  long: longOptions([
    'quiet',
    'silent',
    'debug',
    'expression=',
    'follow-symlinks',
    'in-place=?',
    'line-length=',
    'posix',
    'regexp-extended',
    'separate',
    'sandbox',
    'unbuffered',
    'null-data',
    'zero-terminated',
    'help',
    'version',
  ]),
  unsafeLong: ['file'],
  abbreviations: true,
};

function sedCheck(argv: readonly string[]): ModelVerdict {
  const parsed = getopt(argv.slice(1), SED_TABLE);
  if (!parsed.ok) return refuse('sed', parsed.refused);
  const scripts = parsed.options.filter((o) => o.name === '-e' || o.name === '--expression').map((o) => o.value!);
  if (scripts.length === 0 && parsed.operands.length > 0) scripts.push(parsed.operands[0]);
  // GNU sed joins -e scripts with newlines and parses the result as one program.
  const why = sedScriptRefusal(scripts.join('\n'));
  return why ? refuse('sed', why) : { argv: [...argv] };
}

const MODELS: Record<string, ToolModel> = {
  tar: tarModel,
  gtar: tarModel,
  find: { globSafe: true, check: findCheck },
  sort: { globSafe: true, check: getoptModel('sort', SORT_TABLE) },
  rsync: { globSafe: true, check: getoptModel('rsync', RSYNC_TABLE, rsyncOperandRefusal) },
  sed: { globSafe: false, check: sedCheck },
  gsed: { globSafe: false, check: sedCheck },
  git: gitModel,
};

/**
 * The positive model for a program by its exact canonical name, if it has one. Never by a stripped or
 * similar name: a model makes a glob-safe tool matchable, so it must only apply to that tool.
 */
export function toolModelFor(canonicalName: string): ToolModel | undefined {
  return Object.hasOwn(MODELS, canonicalName) ? MODELS[canonicalName] : undefined;
}

/** The getopt tables, for the test that checks them against the installed tools. */
export const TOOL_TABLES: Readonly<Record<'tar' | 'sort' | 'rsync' | 'sed', OptionTable>> = {
  tar: TAR_TABLE,
  sort: SORT_TABLE,
  rsync: RSYNC_TABLE,
  sed: SED_TABLE,
};
