// Portable C API implemented once per OS (native/linux/*, native/mac/*, native/posix/*).
// No N-API types here: addon.cc is the only file that talks to Node.
#pragma once
#include <stdint.h>
#include <stddef.h>

// Result convention: 0 on success, otherwise a positive errno value.

typedef struct {
  int32_t pid;        // -1 when the OS cannot tell
  int32_t uid;
  int32_t gid;
  int32_t pidfd;      // Linux SO_PEERPIDFD, -1 when absent (kernel too old / not Linux)
  int32_t pid_version;  // macOS audit-token pidversion, -1 elsewhere
  uint8_t audit_token[32];
  int32_t has_audit_token;
} oc_peercred_t;

// Credentials of the peer of a connected AF_UNIX socket.
int oc_peer_uid(int fd, int32_t* uid);
int oc_peer_cred(int fd, oc_peercred_t* out);
