// SPDX-License-Identifier: MIT
/* make bench: the costs of talking to a real persist-server, each measured
 * against a floor taken in the same run (the method: harness.c).  One file
 * a layer, registered here bottom up: the raw protocol (bench_near.c), then
 * libtransport (bench_transport.c), then libpersist (bench_persist.c), then
 * how costs grow with threads and children (bench_many.c), then a thread
 * on another host over a real sshd (bench_ssh.c, run through sshd.sh).  The
 * order is the table's, and the setup's: each layer's peers start after the
 * layers below it.
 *
 * Usage: [BENCH_PIN=same|none|split] [BENCH_ONLY=name,...] bench [OUT.json]
 *        bench --ssh-peer PATH   (the ssh rows' floors' peer, run on host B) */
#include <string.h>
#include "harness.h"

extern const struct layer near_layer, transport_layer, persist_layer, many_layer, ssh_layer;
int ssh_peer_main(const char *path);

int main(int argc, char **argv)
{
	static const struct layer *const layers[] = {
		&near_layer, &transport_layer, &persist_layer, &many_layer, &ssh_layer,
	};

	if (argc == 3 && !strcmp(argv[1], "--ssh-peer"))
		return ssh_peer_main(argv[2]);

	return bench_main(layers, (int)(sizeof layers / sizeof layers[0]),
			  argc > 1 ? argv[1] : NULL);
}
