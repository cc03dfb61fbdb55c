/* SPDX-License-Identifier: MIT */
/* libhandle: tasks, fd handles, pointers to task memory, child handles and
 * typed syscall wrappers, on top of libnear's sysif and libfar's
 * identities.  Every function returns a negative errno on failure and never
 * touches the errno global. */
#ifndef HANDLE_HANDLE_H
#define HANDLE_HANDLE_H

#include <handle/task.h>
#include <handle/fd.h>
#include <handle/ptr.h>
#include <handle/child.h>
#include <handle/fs.h>
#include <handle/socket.h>
#include <handle/process.h>
#include <handle/memory.h>
#include <handle/signal.h>
#include <handle/epoll.h>

#endif
