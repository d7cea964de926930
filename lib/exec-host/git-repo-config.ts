// The repository-local git configuration an auto-allowed git command would read, checked against a
// POSITIVE list of inert keys. Repository config can name programs git runs (core.fsmonitor, diff.external,
// diff.<driver>.textconv, filter.<driver>.clean, credential.helper, core.sshCommand, gpg.program with
// log.showSignature, include.path …) and an agent can usually write .git/config in its workspace. Any key
// not known to be inert, an include, or anything this parser does not fully understand is a refusal (a
// miss that asks). The user's own ~/.gitconfig and /etc/gitconfig are trusted like the rest of the daemon
// user's startup files.
//
// Known limit: this is a check before the run, not a lock: a config written between the check and git's
// read (a race with a concurrent write by the agent's own file tools) is not seen. core.hooksPath and
// core.fsmonitor are also forced off on the command line (git-model.ts), which has no such window.
import fs from 'node:fs';
import path from 'node:path';

/** Inert keys: `section.key`, `section.*.key` (any subsection), `section.*` (any key, any subsection). */
const INERT_PATTERNS = [
  'core.repositoryformatversion',
  'core.filemode',
  'core.bare',
  'core.logallrefupdates',
  'core.ignorecase',
  'core.precomposeunicode',
  'core.symlinks',
  'core.autocrlf',
  'core.eol',
  'core.safecrlf',
  'core.checkstat',
  'core.trustctime',
  'core.quotepath',
  'core.abbrev',
  'core.compression',
  'core.loosecompression',
  'core.bigfilethreshold',
  'core.sparsecheckout',
  'core.sparsecheckoutcone',
  'core.splitindex',
  'core.untrackedcache',
  'core.preloadindex',
  'core.fscache',
  'core.longpaths',
  'core.protecthfs',
  'core.protectntfs',
  'core.commentchar',
  'core.commentstring',
  'core.warnambiguousrefs',
  'core.worktree',
  'core.excludesfile',
  'core.attributesfile',
  'core.whitespace',
  'core.deltabasecachesize',
  'core.packedgitlimit',
  'core.packedgitwindowsize',
  'core.multipackindex',
  'core.commitgraph',
  'core.sharedrepository',
  'core.filesreflocktimeout',
  'core.packedrefstimeout',
  'core.notesref',
  // forced on the command line for every auto-allowed run, so the repository's value never applies
  'core.hookspath',
  'core.fsmonitor',
  'remote.*.url',
  'remote.*.pushurl',
  'remote.*.fetch',
  'remote.*.push',
  'remote.*.tagopt',
  'remote.*.prune',
  'remote.*.prunetags',
  'remote.*.mirror',
  'remote.*.skipdefaultupdate',
  'remote.*.skipfetchall',
  'remote.*.promisor',
  'remote.*.partialclonefilter',
  'remote.*.followremotehead',
  'branch.*.remote',
  'branch.*.merge',
  'branch.*.rebase',
  'branch.*.pushremote',
  'branch.*.description',
  'branch.autosetupmerge',
  'branch.autosetuprebase',
  'branch.sort',
  'user.name',
  'user.email',
  'user.useconfigonly',
  'author.name',
  'author.email',
  'committer.name',
  'committer.email',
  'init.defaultbranch',
  'extensions.objectformat',
  'extensions.worktreeconfig',
  'extensions.refstorage',
  'extensions.preciousobjects',
  'extensions.partialclone',
  'extensions.noop',
  'pull.rebase',
  'pull.ff',
  'push.default',
  'push.autosetupremote',
  'push.followtags',
  'fetch.prune',
  'fetch.prunetags',
  'fetch.writecommitgraph',
  'fetch.parallel',
  'fetch.fsckobjects',
  'merge.conflictstyle',
  'merge.ff',
  'merge.log',
  'merge.stat',
  'merge.renames',
  'merge.renamelimit',
  'merge.autostash',
  'merge.verbosity',
  'merge.defaulttoupstream',
  'rebase.autosquash',
  'rebase.autostash',
  'rebase.updaterefs',
  'rebase.stat',
  'rebase.abbreviatecommands',
  'rebase.missingcommitscheck',
  'rebase.forkpoint',
  'rebase.instructionformat',
  'diff.renames',
  'diff.algorithm',
  'diff.context',
  'diff.interhunkcontext',
  'diff.mnemonicprefix',
  'diff.noprefix',
  'diff.relative',
  'diff.statgraphwidth',
  'diff.statnamewidth',
  'diff.indentheuristic',
  'diff.colormoved',
  'diff.colormovedws',
  'diff.ignoresubmodules',
  'diff.wserrorhighlight',
  'diff.suppressblankempty',
  'diff.orderfile',
  'diff.dirstat',
  'diff.srcprefix',
  'diff.dstprefix',
  'diff.renamelimit',
  'log.date',
  'log.decorate',
  'log.abbrevcommit',
  'log.follow',
  'log.mailmap',
  'log.showroot',
  'log.graphcolors',
  'log.excludedecoration',
  'log.initialdecorationset',
  'log.diffmerges',
  'commit.template',
  'commit.cleanup',
  'commit.verbose',
  'commit.status',
  'tag.sort',
  'submodule.*.url',
  'submodule.*.active',
  'submodule.*.branch',
  'submodule.*.fetchrecursesubmodules',
  'submodule.*.ignore',
  'submodule.*.shallow',
  'submodule.*.update', // value-checked below
  'safe.directory',
  'status.*',
  'color.*',
  'advice.*',
  'alias.*', // an alias is never run by an auto-allowed command (only built-in subcommands are)
  'gc.*',
  'pack.*',
  'repack.*',
  'index.*',
  'feature.*',
  'commitgraph.*',
  'rerere.*',
  'http.*',
  'column.*',
  'i18n.*',
  'grep.*',
  'versionsort.*',
  'checkout.defaultremote',
  'checkout.workers',
  'clone.defaultremotename',
  'worktree.guessremote',
  'apply.whitespace',
];

const INERT_EXACT = new Set(INERT_PATTERNS.filter((p) => !p.includes('*')));
const INERT_SUBSECTION_KEY = new Set(
  INERT_PATTERNS.filter((p) => /^[a-z0-9-]+\.\*\.[a-z0-9-]+$/.test(p)).map((p) => p.replace('.*.', '.')),
);
const INERT_SECTIONS = new Set(INERT_PATTERNS.filter((p) => p.endsWith('.*') && p.split('.').length === 2));

export interface ConfigEntry {
  section: string;
  subsection?: string;
  key: string;
  value?: string;
}

class ConfigSyntaxError extends Error {}

function configFail(why: string): never {
  throw new ConfigSyntaxError(why);
}

/** The config text and the parser's position in it. */
interface ConfigCursor {
  readonly text: string;
  i: number;
}

function skipBlanks(c: ConfigCursor): void {
  while (c.text[c.i] === ' ' || c.text[c.i] === '\t' || c.text[c.i] === '\r') c.i++;
}

function skipLine(c: ConfigCursor): void {
  while (c.i < c.text.length && c.text[c.i] !== '\n') c.i++;
}

/** `[section]`, `[section.sub]` (lowercased) or `[section "sub"]` (case kept), with the cursor on the `[`. */
function readSectionHeader(c: ConfigCursor): { section: string; subsection: string | undefined } {
  const text = c.text;
  const close = text.indexOf(']', c.i);
  const newline = text.indexOf('\n', c.i);
  if (close < 0 || (newline >= 0 && newline < close)) configFail('unterminated section header');
  const header = text.slice(c.i + 1, close);
  const quoted = /^\s*([A-Za-z0-9.-]+)\s+"((?:[^"\\\n]|\\.)*)"\s*$/.exec(header);
  const plain = /^\s*([A-Za-z0-9.-]+)\s*$/.exec(header);
  c.i = close + 1;
  if (quoted) return { section: quoted[1].toLowerCase(), subsection: quoted[2].replace(/\\(.)/g, '$1') };
  if (!plain) configFail(`bad section header [${header}]`);
  const [name, ...rest] = plain[1].split('.');
  return { section: name.toLowerCase(), subsection: rest.length > 0 ? rest.join('.').toLowerCase() : undefined };
}

/** The value after `=` (cursor just past it): quotes, escapes and line continuations, up to a comment or newline. */
function readValue(c: ConfigCursor): string {
  const text = c.text;
  let value = '';
  let inQuote = false;
  for (;;) {
    const d = text[c.i];
    if (d === undefined || d === '\n') {
      if (inQuote) configFail('unterminated quote');
      break;
    }
    if (!inQuote && (d === '#' || d === ';')) {
      skipLine(c);
      break;
    }
    if (d === '"') {
      inQuote = !inQuote;
      c.i++;
      continue;
    }
    if (d === '\\') {
      const e = text[c.i + 1];
      if (e === '\n') c.i += 2;
      else if (e === '\r' && text[c.i + 2] === '\n') c.i += 3;
      else if (e !== undefined && 'ntb"\\'.includes(e)) {
        value += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'b' ? '\b' : e;
        c.i += 2;
      } else configFail('bad escape');
      continue;
    }
    value += d;
    c.i++;
  }
  return value.trim();
}

/** One `key` or `key = value` line, with the cursor on the key. */
function readKeyLine(c: ConfigCursor): { key: string; value: string | undefined } {
  const keyMatch = /^[A-Za-z][A-Za-z0-9-]*/.exec(c.text.slice(c.i, c.i + 256));
  if (!keyMatch) configFail('bad config line');
  const key = keyMatch[0].toLowerCase();
  c.i += keyMatch[0].length;
  skipBlanks(c);
  const next = c.text[c.i];
  if (next === '=') {
    c.i++;
    return { key, value: readValue(c) };
  }
  if (next !== undefined && next !== '\n' && next !== '#' && next !== ';') configFail('bad config line');
  return { key, value: undefined };
}

/** Parses git config text (as git's config.c reads it); throws ConfigSyntaxError on anything unclear. */
export function parseGitConfig(text: string): ConfigEntry[] {
  const entries: ConfigEntry[] = [];
  let header: { section: string; subsection: string | undefined } | undefined;
  const c: ConfigCursor = { text, i: 0 };
  while (c.i < text.length) {
    skipBlanks(c);
    const ch = text[c.i];
    if (ch === undefined) break;
    if (ch === '\n') {
      c.i++;
    } else if (ch === '#' || ch === ';') {
      skipLine(c);
    } else if (ch === '[') {
      header = readSectionHeader(c);
    } else {
      if (header === undefined) configFail('bad config line');
      const { key, value } = readKeyLine(c);
      entries.push({ section: header.section, subsection: header.subsection, key, value });
    }
  }
  return entries;
}

/** Why one entry is not inert, or undefined. */
function entryRefusal(entry: ConfigEntry): string | undefined {
  const { section, subsection, key } = entry;
  const name = subsection === undefined ? `${section}.${key}` : `${section}.${subsection}.${key}`;
  if (section === 'include' || section === 'includeif') return `${name} (includes another config file)`;
  if (INERT_SECTIONS.has(`${section}.*`)) return undefined;
  if (subsection === undefined ? INERT_EXACT.has(name) : INERT_SUBSECTION_KEY.has(`${section}.${key}`)) {
    if (section === 'submodule' && key === 'update' && !/^(checkout|rebase|merge|none)$/.test(entry.value ?? ''))
      return `${name} = ${entry.value} (runs a command)`;
    return undefined;
  }
  return `${name} (not on the list of inert repository config keys)`;
}

/** Why the config file may make git run something, or undefined (a missing file is inert). */
export function configFileRefusal(file: string): string | undefined {
  let text: string;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) return `${file} is not a regular file`;
    if (st.size > 1024 * 1024) return `${file} is larger than 1 MiB`;
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : `${file} cannot be read`;
  }
  let entries: ConfigEntry[];
  try {
    entries = parseGitConfig(text);
  } catch (err) {
    if (err instanceof ConfigSyntaxError) return `${file}: ${err.message}`;
    throw err;
  }
  for (const entry of entries) {
    const why = entryRefusal(entry);
    if (why) return `${file}: ${why}`;
  }
  return undefined;
}

function readGitdirFile(dotGit: string): string | undefined {
  try {
    const text = fs.readFileSync(dotGit, 'utf8');
    const m = /^gitdir: (.+?)\r?\n?$/.exec(text);
    return m ? path.resolve(path.dirname(dotGit), m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The git directory git would use when started in `start` (discovery as setup.c does it), or undefined. */
export function discoverGitDir(start: string): { gitDir: string } | { refused: string } | undefined {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    const dotGit = path.join(dir, '.git');
    if (isDir(dotGit)) return { gitDir: dotGit };
    if (isFile(dotGit)) {
      const target = readGitdirFile(dotGit);
      return target ? { gitDir: target } : { refused: `${dotGit}: not a "gitdir:" file` };
    }
    // A bare repository (or a directory made to look like one) is itself a git directory.
    if (isFile(path.join(dir, 'HEAD')) && (isFile(path.join(dir, 'config')) || isDir(path.join(dir, 'objects'))))
      return { gitDir: dir };
    if (dir === path.dirname(dir)) return undefined;
  }
}

/** Every repository-local config file git (and git in its absorbed submodules) may read for a repository. */
function repositoryConfigFiles(gitDir: string): string[] {
  let commonDir = gitDir;
  try {
    commonDir = path.resolve(gitDir, fs.readFileSync(path.join(gitDir, 'commondir'), 'utf8').trim());
  } catch {
    // not a linked worktree
  }
  const files = [path.join(commonDir, 'config'), path.join(gitDir, 'config'), path.join(gitDir, 'config.worktree')];
  // Absorbed submodules (.git/modules/<name>/…): status and diff recurse into them.
  const walk = (dir: string, depth: number): void => {
    if (depth > 4 || files.length > 256) return;
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const sub = path.join(dir, name);
      if (!isDir(sub)) continue;
      if (isFile(path.join(sub, 'HEAD'))) files.push(path.join(sub, 'config'), path.join(sub, 'config.worktree'));
      walk(path.join(sub, 'modules'), depth + 1);
      walk(sub, depth + 1);
    }
  };
  walk(path.join(commonDir, 'modules'), 0);
  return [...new Set(files)];
}

/** Why git started in `start` could run a program named by repository config, or undefined. */
export function repositoryConfigRefusal(start: string): string | undefined {
  const found = discoverGitDir(start);
  if (!found) return undefined;
  if ('refused' in found) return found.refused;
  for (const file of repositoryConfigFiles(found.gitDir)) {
    const why = configFileRefusal(file);
    if (why) return why;
  }
  return undefined;
}
