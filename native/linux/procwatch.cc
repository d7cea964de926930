// Exit notification for the runner: a pidfd polls readable once its process has exited.
#include "../platform.h"

int oc_proc_exit_fd(int32_t pid, int32_t* fd) { return oc_pidfd_open(pid, fd); }
