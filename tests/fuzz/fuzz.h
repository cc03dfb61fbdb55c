/* SPDX-License-Identifier: MIT */
/* Shared by the fuzz harness and its seed generator.
 *
 * A fuzz input is one byte that says how the harness splits its writes
 * (0: all at once; n: chunks of 3n bytes), then the byte stream a controller
 * sends after the hello: requests, memory payloads, anything.
 *
 * Controller addresses [FUZZ_BASE, FUZZ_BASE + FUZZ_SANDBOX) are a private
 * sandbox in the harness; every other address is an unreadable, unwritable
 * region, so the kernel answers -EFAULT. */
#ifndef PERSIST_FUZZ_H
#define PERSIST_FUZZ_H

#define FUZZ_BASE 0x10000ull
#define FUZZ_SANDBOX (64u * 1024)
#define FUZZ_MAX_LEN 8192 /* -max_len: bounds the work one input can ask */

#endif
