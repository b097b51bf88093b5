/* listen.h — what flagserver needs from the system before it serves: the
 * listening socket, the port file tests wait for, and a connection cap that
 * fits the descriptor limit. */
#ifndef FLAGSERVER_LISTEN_H
#define FLAGSERVER_LISTEN_H

#include <stdio.h>

/* A listening TCP socket on bind_addr (numeric IPv4 or IPv6) and port (0:
 * any free one), TCP_NODELAY set for the sockets it accepts. The port it got
 * in *bound. The descriptor, or -errno (-EINVAL for a bad address). */
int listen_socket(const char *bind_addr, unsigned port, unsigned *bound);

/* Write path atomically: fill(f, arg) writes a temporary beside it
 * (negative on failure), which is renamed into place; on any failure it is
 * removed and path is untouched. 0, or -errno. */
int write_atomically(const char *path, int (*fill)(FILE *f, const void *arg), const void *arg);

/* Write the port to path atomically (a rename): tests wait for the file to
 * appear and must never read half of it. 0, or -errno. */
int write_port_file(const char *path, unsigned port);

/* Raise the soft descriptor limit to the hard one and return want, or fewer
 * when the limit leaves no room for that many connections. */
unsigned fit_max_conns(unsigned want, int verbosity);

#endif
