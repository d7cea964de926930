// Process runner (posix_spawn + one supervisor thread). No N-API types: addon.cc adapts it to Node.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include <string>
#include <vector>

struct OcSpawnRequest {
  std::string file;               // path, or a bare name searched in the child's PATH
  int exec_fd = -1;               // >= 0: run this open file instead of looking up `file` (platform.h §4)
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> env;   // "NAME=value"; the complete child environment
  bool has_cwd = false;
  std::string cwd;
  bool has_stdin = false;         // false: stdin is /dev/null
  std::string stdin_data;
  int64_t timeout_ms = 0;         // 0: no timeout
  int64_t kill_grace_ms = 2000;
  size_t max_output_bytes = 1 << 20;
};

struct OcSpawnResult {
  int error = 0;                  // positive errno when the program could not be started
  const char* error_what = "";    // which step failed ("posix_spawn", "pipe", "chdir"…)
  int32_t pid = -1;
  int32_t exit_code = -1;         // valid when signal == 0
  int32_t signal = 0;             // terminating signal, 0 if it exited
  bool timed_out = false;
  bool cancelled = false;         // oc_spawn_cancel reached it before it finished
  std::string out, err;           // tails, at most max_output_bytes each
  bool out_truncated = false, err_truncated = false;
  double duration_ms = 0;
};

// Called exactly once per request, on the supervisor thread. The callee owns `result`.
typedef void (*OcSpawnDone)(void* ctx, OcSpawnResult* result);

// Non-blocking: queues the request (ownership moves to the runner) and wakes the supervisor thread,
// which spawns the child, pumps its pipes, enforces the timeout, reaps it with waitpid(pid) (its own
// pids only: libuv's SIGCHLD handler reaps only libuv's children), then calls done(ctx, result).
// Returns 0, or a positive errno if the runner could not start (the request is then deleted).
// *id (when not null) names the request for oc_spawn_cancel; ids are never reused in a process.
int oc_spawn_submit(OcSpawnRequest* request, OcSpawnDone done, void* ctx, uint64_t* id);

// Non-blocking. Ends request `id` early (its requester is gone): a request still queued completes at once
// without starting; a running child's group gets SIGTERM, then SIGKILL after kill_grace_ms, exactly like a
// timeout (leftover grandchildren holding the pipes are killed at once). done() still runs once, with
// `cancelled` set. An unknown or finished id is ignored.
void oc_spawn_cancel(uint64_t id);
