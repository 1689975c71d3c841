// SPDX-License-Identifier: Apache-2.0
/* Written against the installed <dialtone/dialtone.h> only: alice calls bob, bob declines, alice
 * sees "rejected". Usage: call_c SERVER ALICE_TOKEN BOB_TOKEN. Exit 0 on success. */
#define _POSIX_C_SOURCE 200809L
#include <dialtone/dialtone.h>

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

typedef struct side {
  atomic_int online;
  atomic_int state; /* the last dt_call_state seen, or -1 */
  char call_id[64];
  atomic_int have_id;
} side;

static void on_connection(void* user, dt_connection_state st) {
  atomic_store(&((side*)user)->online, st == DT_ONLINE);
}

static void on_call(void* user, const dt_call* c) {
  side* s = user;
  if (!atomic_load(&s->have_id)) {
    snprintf(s->call_id, sizeof s->call_id, "%s", c->call_id);
    atomic_store(&s->have_id, 1);
  }
  atomic_store(&s->state, (int)c->state);
}

/* Waits up to 10 s for *flag == want. */
static int wait_for(atomic_int* flag, int want) {
  struct timespec tick = {0, 10 * 1000 * 1000};
  for (int i = 0; i < 1000; ++i) {
    if (atomic_load(flag) == want) return 1;
    nanosleep(&tick, NULL);
  }
  return 0;
}

static dt_client* open_client(const char* server, const char* token, side* s) {
  dt_config config;
  dt_config_init(&config);
  config.server = server;
  config.token = token;
  config.media_enabled = 0; /* signaling only: no audio devices on a test machine */
  dt_callbacks cb;
  memset(&cb, 0, sizeof cb);
  cb.user = s;
  cb.on_connection = on_connection;
  cb.on_call = on_call;
  char error[256] = "";
  dt_client* c = dt_client_new(&config, &cb, error, sizeof error);
  if (!c) fprintf(stderr, "dt_client_new: %s\n", error);
  return c;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: call_c SERVER ALICE_TOKEN BOB_TOKEN\n");
    return 2;
  }
  side alice = {0}, bob = {0};
  atomic_store(&alice.state, -1);
  atomic_store(&bob.state, -1);
  dt_client* a = open_client(argv[1], argv[2], &alice);
  dt_client* b = open_client(argv[1], argv[3], &bob);
  int ok = a && b && wait_for(&alice.online, 1) && wait_for(&bob.online, 1);
  if (ok) {
    dt_start_call(a, "bob", NULL, NULL);
    ok = wait_for(&bob.have_id, 1);
  }
  if (ok) {
    dt_reject(b, bob.call_id, NULL, NULL, NULL);
    ok = wait_for(&alice.state, DT_REJECTED);
  }
  printf("C: alice's call %s (%s)\n", ok ? "was declined" : "did not go as expected",
         dt_state_name((dt_call_state)atomic_load(&alice.state)));
  if (a) dt_client_free(a);
  if (b) dt_client_free(b);
  return ok ? 0 : 1;
}
