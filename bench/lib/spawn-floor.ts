// The floor of one `system.run /bin/true`: C posix_spawn(/bin/true) + waitpid, timed inside a small C program
// (compiled with cc into a temp dir) so that neither Node nor process start-up is in the number.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const FLOOR_C = `
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
extern char **environ;
static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
int main(int argc, char **argv) {
  const char *file = argv[1];
  long n = atol(argv[2]);
  char *child_argv[] = { (char *)file, NULL };
  for (long i = 0; i < n; i++) {
    pid_t pid; int status;
    double t0 = now_ms();
    if (posix_spawn(&pid, file, NULL, NULL, child_argv, environ) != 0) return 2;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 3;
    printf("%.4f\\n", now_ms() - t0);
  }
  return 0;
}
`;

export interface SpawnFloor {
  /** Runs `n` timed spawns of `file` and returns their durations in ms. */
  sample(n: number): number[];
}

/** Compiles the floor program into `dir`; undefined when there is no C compiler. */
export function compileSpawnFloor(dir: string, file: string): SpawnFloor | undefined {
  const src = path.join(dir, 'spawn-floor.c');
  const exe = path.join(dir, 'spawn-floor');
  fs.writeFileSync(src, FLOOR_C);
  if (spawnSync('cc', ['-O2', '-o', exe, src], { stdio: 'inherit' }).status !== 0) return undefined;
  return {
    sample(n: number): number[] {
      const out = spawnSync(exe, [file, String(n)], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
      if (out.status !== 0) throw new Error(`spawn floor exited ${out.status}: ${out.stderr}`);
      return out.stdout.trim().split('\n').map(Number);
    },
  };
}
