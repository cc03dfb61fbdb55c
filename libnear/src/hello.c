// SPDX-License-Identifier: MIT
/* Checking the server's hello: refuse peers we cannot speak to, and say
 * which part of the hello made us refuse. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <near/proto.h>
#include <near/syscall.h>

static const char *arch_name(uint32_t id)
{
	switch (id) {
	case 1: return "x86_64";
	case 2: return "aarch64";
	default: return "unknown";
	}
}

NEAR_EXPORT int near_hello_check(const struct near_hello *h, char *why,
				 size_t whylen)
{
	char reason[sizeof h->reason + 1];
	char scratch[1];

	if (!why) {
		why = scratch;
		whylen = sizeof scratch;
	}
	if (h->magic != NEAR_PROTO_MAGIC) {
		snprintf(why, whylen,
			 "peer is not a persist server (magic %#llx, expected %#llx)",
			 (unsigned long long)h->magic, NEAR_PROTO_MAGIC);
		return -EPROTO;
	}
	if (h->version != NEAR_PROTO_VERSION) {
		snprintf(why, whylen,
			 "server speaks protocol version %u, this controller speaks %u",
			 h->version, NEAR_PROTO_VERSION);
		return -EPROTONOSUPPORT;
	}
	if (h->arch != NEAR_ARCH_ID) {
		snprintf(why, whylen,
			 "server architecture is %s (%u), this controller is %s",
			 arch_name(h->arch), h->arch, NEAR_ARCH_NAME);
		return -ENOEXEC;
	}
	if (h->refusal != 0) {
		/* The reason comes from the peer: never trust its terminator. */
		memcpy(reason, h->reason, sizeof h->reason);
		reason[sizeof h->reason] = '\0';
		snprintf(why, whylen, "server refused the connection: %s", reason);
		return h->refusal < 0 && h->refusal > -4096 ? h->refusal : -ECONNREFUSED;
	}
	if (whylen)
		why[0] = '\0';
	return 0;
}
