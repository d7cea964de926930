// Whether the peer of a stream socket is gone (platform.h §5). Shared by Linux and macOS.
#include "../platform.h"

#include <errno.h>
#include <poll.h>

int oc_socket_hung_up(int fd, int32_t* hung_up) {
  struct pollfd p = {fd, POLLOUT, 0};
  int n;
  do {
    n = poll(&p, 1, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno;
  if (p.revents & POLLNVAL) return EBADF;
  *hung_up = (p.revents & (POLLHUP | POLLERR)) != 0 ? 1 : 0;
  return 0;
}
