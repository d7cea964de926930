// posix_spawn runner (Linux and macOS). One lazily started supervisor thread owns every running child: it
// spawns (so the JS thread never waits for exec), polls all pipes and exit fds together, enforces timeouts
// and reaps. Cost is flat in the parent's RSS: glibc's posix_spawn uses CLONE_VM|CLONE_VFORK, and on
// macOS posix_spawn is a system call that never copies the parent. The per-OS parts (pipes, fd hygiene,
// exit fds, start-suspended) are the platform.h §4 hooks; this file has no #ifdef.
#include "spawn.h"

#include "../platform.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

namespace {

using Clock = std::chrono::steady_clock;

const size_t kReadChunk = 65536;
// Children supervised at once (4 fds each in one poll set); later requests wait in FIFO order. Keeps the
// poll set and the fd count bounded however many requests arrive.
const size_t kMaxRunning = 256;

struct Job {
  uint64_t id = 0;
  std::unique_ptr<OcSpawnRequest> req;
  OcSpawnDone done = nullptr;
  void* ctx = nullptr;
  std::unique_ptr<OcSpawnResult> res{new OcSpawnResult()};
  Clock::time_point started;
  int out_fd = -1, err_fd = -1, in_fd = -1, exit_fd = -1;
  size_t stdin_written = 0;
  bool exited = false;
  bool term_sent = false, kill_sent = false;
  bool has_deadline = false;
  Clock::time_point deadline;       // timeout -> SIGTERM
  Clock::time_point kill_deadline;  // SIGTERM + grace -> SIGKILL
  Clock::time_point drain_deadline; // exit + grace -> stop waiting for EOF held by leftover grandchildren
};

void CloseFd(int* fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

// Keeps only the last `cap` bytes; trims in batches so appends stay amortised O(n).
void AppendTail(std::string* buf, bool* truncated, const char* data, size_t n, size_t cap) {
  buf->append(data, n);
  if (buf->size() > cap) {
    *truncated = true;
    if (buf->size() > 2 * cap + kReadChunk) buf->erase(0, buf->size() - cap);
  }
}

void FinishTail(std::string* buf, size_t cap) {
  if (buf->size() > cap) buf->erase(0, buf->size() - cap);
}

bool HasSlash(const std::string& s) { return s.find('/') != std::string::npos; }

// Finds `name` in the child's PATH (not ours): argv-only execution must not depend on the parent env.
int ResolveExecutable(const OcSpawnRequest& req, std::string* path) {
  if (HasSlash(req.file)) {
    *path = req.file;
    return 0;
  }
  std::string search = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& kv : req.env) {
    if (kv.compare(0, 5, "PATH=") == 0) search = kv.substr(5);
  }
  int best = ENOENT;
  size_t start = 0;
  while (start <= search.size()) {
    size_t end = search.find(':', start);
    if (end == std::string::npos) end = search.size();
    std::string dir = search.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + req.file;
    struct stat st;
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (access(candidate.c_str(), X_OK) == 0) {
        *path = candidate;
        return 0;
      }
      best = EACCES;
    }
    start = end + 1;
  }
  return best;
}

std::vector<char*> CStrings(std::vector<std::string>& items) {
  std::vector<char*> out;
  out.reserve(items.size() + 1);
  for (auto& s : items) out.push_back(&s[0]);
  out.push_back(nullptr);
  return out;
}

int SetNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) return errno;
  return 0;
}

// Starts the child. On failure sets res->error/error_what and leaves no fds or processes behind.
void Start(Job* job) {
  OcSpawnRequest& req = *job->req;
  OcSpawnResult& res = *job->res;
  std::string path;
  int err = 0;
  if (req.exec_fd >= 0) {
    char fd_path[64];
    err = oc_spawn_exec_fd_path(req.exec_fd, fd_path, sizeof fd_path);
    if (err == 0) path = fd_path;
  } else {
    err = ResolveExecutable(req, &path);
  }
  if (err != 0) {
    res.error = err;
    res.error_what = req.exec_fd >= 0 ? "exec fd" : "resolve executable";
    return;
  }
  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1}, in_pipe[2] = {-1, -1};
  int stdin_src = -1;
  int perr = oc_pipe_cloexec(out_pipe, 0);
  if (perr == 0) perr = oc_pipe_cloexec(err_pipe, 0);
  if (perr != 0) {
    res.error = perr;
    res.error_what = "pipe";
  } else if (req.has_stdin) {
    perr = oc_pipe_cloexec(in_pipe, 0);
    if (perr != 0) {
      res.error = perr;
      res.error_what = "pipe";
    }
    stdin_src = in_pipe[0];
  } else {
    stdin_src = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (stdin_src < 0) {
      res.error = errno;
      res.error_what = "open /dev/null";
    }
  }

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  bool have_actions = false, have_attr = false;
  pid_t pid = -1;
  if (res.error == 0) {
    have_actions = posix_spawn_file_actions_init(&actions) == 0;
    have_attr = posix_spawnattr_init(&attr) == 0;
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    int rc = (!have_actions || !have_attr) ? ENOMEM : 0;
    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, stdin_src, 0);
    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
    // glibc >= 2.29 / macOS 10.15: no fallback is needed on the platforms we build for; without it the
    // build fails rather than silently ignoring cwd (native/mac/procwatch.cc pins the deployment target).
    if (rc == 0 && req.has_cwd) rc = posix_spawn_file_actions_addchdir_np(&actions, req.cwd.c_str());
    // Only fds 0-2 reach the child (plus exec_fd until the exec closes it), and it cannot exit before
    // its exit fd exists (platform.h §4).
    short flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
    if (rc == 0) rc = oc_spawn_prepare(&actions, &flags, req.exec_fd);
    if (rc == 0) rc = posix_spawnattr_setflags(&attr, flags);
    if (rc == 0) rc = posix_spawnattr_setpgroup(&attr, 0);
    if (rc == 0) rc = posix_spawnattr_setsigdefault(&attr, &all);
    if (rc == 0) rc = posix_spawnattr_setsigmask(&attr, &none);
    if (rc != 0) {
      res.error = rc;
      res.error_what = "posix_spawn setup";
    } else {
      std::vector<char*> argv = CStrings(req.argv);
      std::vector<char*> envp = CStrings(req.env);
      rc = posix_spawn(&pid, path.c_str(), &actions, &attr, argv.data(), envp.data());
      if (rc != 0) {
        res.error = rc;
        res.error_what = "posix_spawn";
        pid = -1;
      }
    }
  }
  if (have_actions) posix_spawn_file_actions_destroy(&actions);
  if (have_attr) posix_spawnattr_destroy(&attr);
  CloseFd(&out_pipe[1]);
  CloseFd(&err_pipe[1]);
  if (req.has_stdin) {
    CloseFd(&in_pipe[0]);
  } else {
    CloseFd(&stdin_src);
  }
  if (res.error != 0) {
    CloseFd(&out_pipe[0]);
    CloseFd(&err_pipe[0]);
    CloseFd(&in_pipe[1]);
    return;
  }

  res.pid = pid;
  job->out_fd = out_pipe[0];
  job->err_fd = err_pipe[0];
  job->in_fd = in_pipe[1];
  int32_t exit_fd = -1;
  err = oc_proc_exit_fd(pid, &exit_fd);
  if (err == 0) err = SetNonBlocking(job->out_fd);
  if (err == 0) err = SetNonBlocking(job->err_fd);
  if (err == 0 && job->in_fd >= 0) err = SetNonBlocking(job->in_fd);
  if (err == 0) err = oc_spawn_resume(pid);
  if (err != 0) {
    // Cannot supervise it: do not leave it running unobserved. SIGKILL before resuming (macOS starts it
    // suspended), so it dies without running; waitpid cannot block on a stopped child after that.
    kill(-pid, SIGKILL);
    oc_spawn_resume(pid);
    waitpid(pid, nullptr, 0);
    if (exit_fd >= 0) close(exit_fd);
    CloseFd(&job->out_fd);
    CloseFd(&job->err_fd);
    CloseFd(&job->in_fd);
    res.error = err;
    res.error_what = "watch child";
    return;
  }
  job->exit_fd = exit_fd;
  if (job->in_fd >= 0 && req.stdin_data.empty()) CloseFd(&job->in_fd);
  if (req.timeout_ms > 0) {
    job->has_deadline = true;
    job->deadline = Clock::now() + std::chrono::milliseconds(req.timeout_ms);  // queueing does not count
  }
}

void PumpOutput(Job* job, int* fd, bool is_err) {
  char buf[kReadChunk];
  OcSpawnResult& res = *job->res;
  for (int i = 0; i < 16; i++) {  // bounded so one chatty child cannot starve the others
    ssize_t n = read(*fd, buf, sizeof(buf));
    if (n > 0) {
      if (is_err) {
        AppendTail(&res.err, &res.err_truncated, buf, (size_t)n, job->req->max_output_bytes);
      } else {
        AppendTail(&res.out, &res.out_truncated, buf, (size_t)n, job->req->max_output_bytes);
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    CloseFd(fd);  // EOF or error
    return;
  }
}

void PumpStdin(Job* job) {
  const std::string& data = job->req->stdin_data;
  while (job->stdin_written < data.size()) {
    ssize_t n = write(job->in_fd, data.data() + job->stdin_written, data.size() - job->stdin_written);
    if (n > 0) {
      job->stdin_written += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    break;  // EPIPE (SIGPIPE is ignored by Node): the child stopped reading
  }
  CloseFd(&job->in_fd);
}

void Reap(Job* job, Clock::time_point now) {
  int status = 0;
  pid_t r;
  do {
    r = waitpid(job->res->pid, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  // The exit fd fired before the zombie was visible (macOS posts NOTE_EXIT shortly before the process
  // becomes a zombie, in the same kernel exit path): poll again.
  if (r == 0) return;
  job->exited = true;
  CloseFd(&job->exit_fd);
  if (r < 0) {
    // ECHILD: someone else's waitpid(-1) reaped our child. Report an unknown status (-1) rather than
    // spinning on a readable exit fd forever.
    job->res->exit_code = -1;
  } else if (WIFSIGNALED(status)) {
    job->res->signal = WTERMSIG(status);
  } else {
    job->res->exit_code = WEXITSTATUS(status);
  }
  job->drain_deadline = now + std::chrono::milliseconds(job->req->kill_grace_ms);
  CloseFd(&job->in_fd);
}

// Timeout handling: SIGTERM to the group, SIGKILL after the grace period (also for grandchildren that
// outlive the child while still holding our pipes).
void Enforce(Job* job, Clock::time_point now) {
  pid_t group = job->res->pid;
  if (job->has_deadline && !job->term_sent && !job->exited && now >= job->deadline) {
    job->res->timed_out = true;
    job->term_sent = true;
    kill(-group, SIGTERM);
    job->kill_deadline = now + std::chrono::milliseconds(job->req->kill_grace_ms);
  }
  bool pipes_open = job->out_fd >= 0 || job->err_fd >= 0;
  if (job->term_sent && !job->kill_sent && now >= job->kill_deadline && (!job->exited || pipes_open)) {
    job->kill_sent = true;
    kill(-group, SIGKILL);
  }
}

// oc_spawn_cancel on a started job: the timeout's path without the timed_out flag.
void Cancel(Job* job, Clock::time_point now) {
  job->res->cancelled = true;
  pid_t group = job->res->pid;
  if (!job->exited && !job->term_sent) {
    job->term_sent = true;
    kill(-group, SIGTERM);
    job->kill_deadline = now + std::chrono::milliseconds(job->req->kill_grace_ms);
  } else if (job->exited && !job->kill_sent && (job->out_fd >= 0 || job->err_fd >= 0)) {
    job->kill_sent = true;  // nobody waits for the leftover grandchildren's output any more
    kill(-group, SIGKILL);
  }
}

bool Finished(Job* job, Clock::time_point now) {
  if (!job->exited) return false;
  if (job->out_fd < 0 && job->err_fd < 0) return true;
  if (job->term_sent && !job->kill_sent) return false;  // SIGKILL for the group is still due
  if (now < job->drain_deadline) return false;
  CloseFd(&job->out_fd);  // leftover grandchildren keep them open: stop waiting
  CloseFd(&job->err_fd);
  return true;
}

void Complete(std::unique_ptr<Job> job) {
  OcSpawnResult* res = job->res.release();
  FinishTail(&res->out, job->req->max_output_bytes);
  FinishTail(&res->err, job->req->max_output_bytes);
  res->duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - job->started).count();
  job->done(job->ctx, res);
}

class Supervisor {
 public:
  int Submit(std::unique_ptr<Job> job, uint64_t* id) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_) {
      int err = oc_pipe_cloexec(wake_, 1);
      if (err != 0) return err;
      try {
        std::thread(&Supervisor::Run, this).detach();
      } catch (...) {
        close(wake_[0]);
        close(wake_[1]);
        return EAGAIN;
      }
      started_ = true;
    }
    job->id = next_id_++;
    if (id != nullptr) *id = job->id;
    incoming_.push_back(std::move(job));
    WakeLocked();
    return 0;
  }

  void Cancel(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_) return;
    cancels_.push_back(id);
    WakeLocked();
  }

 private:
  void WakeLocked() {
    char b = 1;
    ssize_t ignored = write(wake_[1], &b, 1);  // full pipe = already awake
    (void)ignored;
  }

  void ApplyCancel(uint64_t id) {
    for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
      if ((*it)->id != id) continue;
      std::unique_ptr<Job> job = std::move(*it);
      waiting_.erase(it);
      job->res->cancelled = true;
      Complete(std::move(job));
      return;
    }
    for (auto& job : jobs_) {
      if (job->id == id) ::Cancel(job.get(), Clock::now());
    }
  }

  void TakeIncoming() {
    std::vector<uint64_t> cancels;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& job : incoming_) waiting_.push_back(std::move(job));
      incoming_.clear();
      cancels.swap(cancels_);
    }
    for (uint64_t id : cancels) ApplyCancel(id);
    while (!waiting_.empty() && jobs_.size() < kMaxRunning) {
      std::unique_ptr<Job> job = std::move(waiting_.front());
      waiting_.pop_front();
      Start(job.get());
      if (job->res->error != 0) {
        Complete(std::move(job));
      } else {
        jobs_.push_back(std::move(job));
      }
    }
  }

  int PollTimeoutMs(Clock::time_point now) const {
    Clock::time_point next = Clock::time_point::max();
    for (const auto& job : jobs_) {
      if (job->has_deadline && !job->term_sent && !job->exited) next = std::min(next, job->deadline);
      if (job->term_sent && !job->kill_sent) next = std::min(next, job->kill_deadline);
      bool pipes_open = job->out_fd >= 0 || job->err_fd >= 0;
      bool kill_due = job->term_sent && !job->kill_sent;
      if (job->exited && pipes_open && !kill_due) next = std::min(next, job->drain_deadline);
    }
    if (next == Clock::time_point::max()) return -1;
    if (next <= now) return 0;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1;
    return ms > 60000 ? 60000 : (int)ms;
  }

  void Run() {
    std::vector<pollfd> fds;
    for (;;) {
      TakeIncoming();
      fds.clear();
      fds.push_back({wake_[0], POLLIN, 0});
      for (const auto& job : jobs_) {
        if (job->out_fd >= 0) fds.push_back({job->out_fd, POLLIN, 0});
        if (job->err_fd >= 0) fds.push_back({job->err_fd, POLLIN, 0});
        if (job->in_fd >= 0) fds.push_back({job->in_fd, POLLOUT, 0});
        if (job->exit_fd >= 0) fds.push_back({job->exit_fd, POLLIN, 0});
      }
      int n = poll(fds.data(), fds.size(), PollTimeoutMs(Clock::now()));
      if (n < 0 && errno != EINTR) continue;
      if (fds[0].revents != 0) {
        char drain[256];
        while (read(wake_[0], drain, sizeof(drain)) > 0) {
        }
      }
      // Service every job whose fds are ready (fds was built in jobs_ order, 1-4 slots per job).
      size_t k = 1;
      Clock::time_point now = Clock::now();
      for (auto& job : jobs_) {
        short out_ev = 0, err_ev = 0, in_ev = 0, exit_ev = 0;
        if (job->out_fd >= 0) out_ev = fds[k++].revents;
        if (job->err_fd >= 0) err_ev = fds[k++].revents;
        if (job->in_fd >= 0) in_ev = fds[k++].revents;
        if (job->exit_fd >= 0) exit_ev = fds[k++].revents;
        if (out_ev != 0) PumpOutput(job.get(), &job->out_fd, false);
        if (err_ev != 0) PumpOutput(job.get(), &job->err_fd, true);
        if (in_ev != 0) PumpStdin(job.get());
        if (exit_ev != 0) Reap(job.get(), now);
        Enforce(job.get(), now);
      }
      for (size_t i = 0; i < jobs_.size();) {
        if (Finished(jobs_[i].get(), now)) {
          std::unique_ptr<Job> done = std::move(jobs_[i]);
          jobs_[i] = std::move(jobs_.back());
          jobs_.pop_back();
          Complete(std::move(done));
        } else {
          i++;
        }
      }
    }
  }

  std::mutex mu_;
  bool started_ = false;
  uint64_t next_id_ = 1;
  std::vector<uint64_t> cancels_;
  int wake_[2] = {-1, -1};
  std::vector<std::unique_ptr<Job>> incoming_;
  std::deque<std::unique_ptr<Job>> waiting_;  // supervisor thread only
  std::vector<std::unique_ptr<Job>> jobs_;    // supervisor thread only
};

// Intentionally leaked: the detached thread may run until process exit, after static destructors.
Supervisor* g_supervisor = new Supervisor();

}  // namespace

int oc_spawn_submit(OcSpawnRequest* request, OcSpawnDone done, void* ctx, uint64_t* id) {
  std::unique_ptr<Job> job(new Job());
  job->req.reset(request);
  job->done = done;
  job->ctx = ctx;
  job->started = Clock::now();
  return g_supervisor->Submit(std::move(job), id);
}

void oc_spawn_cancel(uint64_t id) { g_supervisor->Cancel(id); }
