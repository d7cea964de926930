// What a Linux executable can do, read from its ELF headers: whether it is dynamically linked (has an
// interpreter) and which functions it imports. A program that imports none of the process-creating
// functions (exec*, posix_spawn*, system, popen, wordexp) nor dlopen/syscall cannot start another
// program through libc; that is the machine-checked half of "known not to execute others" (the other
// half is the catalogue in program-catalogue.ts). Statically linked files (including ld.so, which runs
// any program named in its argv) have no import table to read and never pass.
import fs from 'node:fs';

/** Imports that let a program start another program (or load code) of its caller's choosing. */
export const EXEC_IMPORTS: ReadonlySet<string> = new Set([
  'execl',
  'execle',
  'execlp',
  'execv',
  'execve',
  'execvp',
  'execvpe',
  'execveat',
  'fexecve',
  'posix_spawn',
  'posix_spawnp',
  'system',
  'popen',
  'wordexp',
  'syscall',
  'dlopen',
  'dlmopen',
  '__libc_system',
]);

export interface ElfSummary {
  /** Has a PT_INTERP program header (dynamically linked, run through the system's loader). */
  dynamic: boolean;
  /** Undefined dynamic symbols (imports), without version suffixes. */
  imports: string[];
}

const PT_INTERP = 3;
const SHT_DYNSYM = 11;
/** Larger symbol tables than this are not read (no program needs them; a crafted file could claim more). */
const MAX_TABLE_BYTES = 16 * 1024 * 1024;

interface Reader {
  u16(off: number): number;
  u32(off: number): number;
  addr(off: number): number;
}

function reader(buf: Buffer, is64: boolean, littleEndian: boolean): Reader {
  const u16 = (off: number): number => (littleEndian ? buf.readUInt16LE(off) : buf.readUInt16BE(off));
  const u32 = (off: number): number => (littleEndian ? buf.readUInt32LE(off) : buf.readUInt32BE(off));
  const u64 = (off: number): number => {
    const big = littleEndian ? buf.readBigUInt64LE(off) : buf.readBigUInt64BE(off);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('ELF offset out of range');
    return Number(big);
  };
  return { u16, u32, addr: is64 ? u64 : u32 };
}

function readAt(fd: number, offset: number, length: number, size: number): Buffer {
  if (offset < 0 || length < 0 || length > MAX_TABLE_BYTES || offset + length > size)
    throw new RangeError('ELF table out of range');
  const buf = Buffer.alloc(length);
  if (fs.readSync(fd, buf, 0, length, offset) !== length) throw new RangeError('short read');
  return buf;
}

/** Reads the summary through an open descriptor; undefined for anything that is not a well-formed ELF file. */
export function readElfSummaryFd(fd: number): ElfSummary | undefined {
  try {
    const size = fs.fstatSync(fd).size;
    const ident = readAt(fd, 0, Math.min(64, size), size);
    if (ident.length < 52 || ident.readUInt32BE(0) !== 0x7f454c46) return undefined;
    const is64 = ident[4] === 2;
    if (ident[4] !== 1 && !is64) return undefined;
    if (ident[5] !== 1 && ident[5] !== 2) return undefined;
    const header = reader(ident, is64, ident[5] === 1);
    const phoff = header.addr(is64 ? 32 : 28);
    const shoff = header.addr(is64 ? 40 : 32);
    const phentsize = header.u16(is64 ? 54 : 42);
    const phnum = header.u16(is64 ? 56 : 44);
    const shentsize = header.u16(is64 ? 58 : 46);
    const shnum = header.u16(is64 ? 60 : 48);

    const phdrs = readAt(fd, phoff, phentsize * phnum, size);
    const ph = reader(phdrs, is64, ident[5] === 1);
    let dynamic = false;
    for (let i = 0; i < phnum; i++) if (ph.u32(i * phentsize) === PT_INTERP) dynamic = true;

    const shdrs = readAt(fd, shoff, shentsize * shnum, size);
    const sh = reader(shdrs, is64, ident[5] === 1);
    const section = (i: number): { type: number; offset: number; size: number; link: number; entsize: number } => {
      const base = i * shentsize;
      return {
        type: sh.u32(base + 4),
        offset: sh.addr(base + (is64 ? 24 : 16)),
        size: sh.addr(base + (is64 ? 32 : 20)),
        link: sh.u32(base + (is64 ? 40 : 24)),
        entsize: sh.addr(base + (is64 ? 56 : 36)),
      };
    };
    const imports: string[] = [];
    for (let i = 0; i < shnum; i++) {
      const dynsym = section(i);
      if (dynsym.type !== SHT_DYNSYM) continue;
      if (dynsym.link >= shnum || dynsym.entsize < (is64 ? 24 : 16)) return undefined;
      const strtab = section(dynsym.link);
      const syms = readAt(fd, dynsym.offset, dynsym.size, size);
      const strs = readAt(fd, strtab.offset, strtab.size, size);
      const sym = reader(syms, is64, ident[5] === 1);
      for (let off = 0; off + dynsym.entsize <= syms.length; off += dynsym.entsize) {
        const shndx = sym.u16(off + (is64 ? 6 : 14));
        const nameOff = sym.u32(off);
        if (shndx !== 0 || nameOff === 0 || nameOff >= strs.length) continue;
        const end = strs.indexOf(0, nameOff);
        imports.push(strs.toString('latin1', nameOff, end < 0 ? strs.length : end));
      }
    }
    return { dynamic, imports };
  } catch {
    return undefined;
  }
}

export function readElfSummary(file: string): ElfSummary | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    return readElfSummaryFd(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The exec-capable imports of a dynamically linked ELF file; undefined when it is not one (static, script, other format). */
export function execImports(summary: ElfSummary | undefined): string[] | undefined {
  if (!summary?.dynamic) return undefined;
  return summary.imports.filter((name) => EXEC_IMPORTS.has(name));
}
