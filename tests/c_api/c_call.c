// SPDX-License-Identifier: Apache-2.0
#define _POSIX_C_SOURCE 200809L
/* Written against dialtone.h alone, in C: alice calls bob, bob answers, audio connects, alice
 * hangs up, bob sees the end. Returns 0, or 1 with the reason in `why`. */
#include <dialtone/dialtone.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

typedef struct side {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int online;
  int unauthorized;
  int media_connected;
  int have_path;
  char path[64]; /* "local remote protocol" */
  int error_unauthorized;
  dt_call_state last_state;
  int have_state;
  char call_id[64];
  int64_t duration;
} side;

static void side_init(side* s) {
  memset(s, 0, sizeof *s);
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  s->duration = -1;
}

static void on_connection(void* user, dt_connection_state st) {
  side* s = user;
  pthread_mutex_lock(&s->mu);
  s->online = st == DT_ONLINE;
  if (st == DT_CONNECTION_UNAUTHORIZED) s->unauthorized = 1;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

static void on_call(void* user, const dt_call* c) {
  side* s = user;
  pthread_mutex_lock(&s->mu);
  snprintf(s->call_id, sizeof s->call_id, "%s", c->call_id); /* copy: valid in the callback only */
  s->last_state = c->state;
  s->have_state = 1;
  s->duration = c->duration_seconds;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

static void on_media(void* user, const char* call_id, dt_media_event e) {
  side* s = user;
  (void)call_id;
  pthread_mutex_lock(&s->mu);
  if (e == DT_MEDIA_CONNECTED) s->media_connected = 1;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

static void on_media_path(void* user, const char* call_id, const char* local, const char* remote,
                          const char* protocol) {
  side* s = user;
  (void)call_id;
  pthread_mutex_lock(&s->mu);
  snprintf(s->path, sizeof s->path, "%s %s %s", local, remote, protocol);
  s->have_path = 1;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

/* Waits up to `seconds` for `*flag` (read under the lock) to become nonzero. */
static int wait_flag(side* s, const int* flag, int seconds) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += seconds;
  pthread_mutex_lock(&s->mu);
  int rc = 0;
  while (!*flag && rc == 0) rc = pthread_cond_timedwait(&s->cv, &s->mu, &until);
  int ok = *flag != 0;
  pthread_mutex_unlock(&s->mu);
  return ok;
}

static int wait_state(side* s, dt_call_state want, int seconds) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += seconds;
  pthread_mutex_lock(&s->mu);
  int rc = 0;
  while (!(s->have_state && s->last_state == want) && rc == 0)
    rc = pthread_cond_timedwait(&s->cv, &s->mu, &until);
  int ok = s->have_state && s->last_state == want;
  pthread_mutex_unlock(&s->mu);
  return ok;
}

typedef struct result {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
  dt_error code;
  char call_id[64];
  size_t count;              /* history: calls */
  dt_call_state first_state; /* history: the newest call's state */
  int64_t push_targets;      /* history: the newest call's push_targets */
  char timeline[8192];       /* details */
  char summary[8192];
  int has_cause;
} result;

static void calls_done(void* user, dt_error code, const char* message, const dt_call* calls,
                       size_t count) {
  result* r = user;
  (void)message;
  pthread_mutex_lock(&r->mu);
  r->code = code;
  r->count = count;
  if (count > 0) {
    snprintf(r->call_id, sizeof r->call_id, "%s", calls[0].call_id);
    r->first_state = calls[0].state;
    r->push_targets = calls[0].push_targets;
  }
  r->done = 1;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

static void details_done(void* user, dt_error code, const char* message, const dt_call* call,
                         const char* timeline, const char* summary, const char* cause) {
  result* r = user;
  (void)message;
  pthread_mutex_lock(&r->mu);
  r->code = code;
  if (call) snprintf(r->call_id, sizeof r->call_id, "%s", call->call_id);
  if (timeline) snprintf(r->timeline, sizeof r->timeline, "%s", timeline);
  if (summary) snprintf(r->summary, sizeof r->summary, "%s", summary);
  r->has_cause = cause != NULL;
  r->done = 1;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

static void op_done(void* user, dt_error code, const char* message, const dt_call* call) {
  result* r = user;
  (void)message;
  pthread_mutex_lock(&r->mu);
  r->code = code;
  if (call) snprintf(r->call_id, sizeof r->call_id, "%s", call->call_id);
  r->done = 1;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

static void bool_done(void* user, dt_error code, const char* message, int value) {
  (void)value;
  op_done(user, code, message, NULL);
}

static dt_error wait_result(result* r) {
  pthread_mutex_lock(&r->mu);
  while (!r->done) pthread_cond_wait(&r->cv, &r->mu);
  pthread_mutex_unlock(&r->mu);
  return r->code;
}

static void result_init(result* r) {
  memset(r, 0, sizeof *r);
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
}

#define CHECK(cond, text)                  \
  do {                                     \
    if (!(cond)) {                         \
      snprintf(why, why_size, "%s", text); \
      goto out;                            \
    }                                      \
  } while (0)

int dialtone_c_call(const char* server, const char* token_a, const char* token_b, char* why,
                    size_t why_size) {
  int status = 1;
  side a, b;
  side_init(&a);
  side_init(&b);
  dt_callbacks cba = {&a, on_connection, on_call, on_media, NULL, NULL, NULL, NULL, on_media_path};
  dt_callbacks cbb = {&b, on_connection, on_call, on_media, NULL, NULL, NULL, NULL, NULL};
  dt_config cfg;
  dt_config_init(&cfg);
  cfg.server = server;
  cfg.input = "tone:440";
  cfg.output = "none";
  cfg.ice_local_addresses = "127.0.0.1";
  char err[256] = "";
  dt_client *alice = NULL, *bob = NULL;

  cfg.token = "";
  CHECK(dt_client_new(&cfg, &cba, err, sizeof err) == NULL && err[0], "an empty token was taken");
  cfg.token = token_a;
  alice = dt_client_new(&cfg, &cba, err, sizeof err);
  cfg.token = token_b;
  bob = dt_client_new(&cfg, &cbb, err, sizeof err);
  CHECK(alice && bob, err);
  CHECK(wait_flag(&a, &a.online, 10) && wait_flag(&b, &b.online, 10), "not online");

  result self;
  result_init(&self);
  dt_start_call(alice, "alice", op_done, &self);
  CHECK(wait_result(&self) == DT_BAD_REQUEST, "a self-call was not bad_request");

  /* Push targets are registered under the device id; these clients have none. */
  result push;
  result_init(&push);
  dt_register_push(bob, "fcm", "token", NULL, NULL, bool_done, &push);
  CHECK(wait_result(&push) == DT_BAD_REQUEST, "push without a device id was not bad_request");

  result created;
  result_init(&created);
  dt_start_call(alice, "bob", op_done, &created);
  CHECK(wait_result(&created) == DT_OK, "start_call failed");
  CHECK(wait_state(&b, DT_RINGING, 10), "bob never rang");
  result accepted;
  result_init(&accepted);
  dt_accept(bob, created.call_id, op_done, &accepted);
  CHECK(wait_result(&accepted) == DT_OK, "accept failed");
  CHECK(wait_state(&a, DT_CONNECTED, 15), "alice never connected");
  CHECK(wait_flag(&a, &a.media_connected, 5), "alice's media never connected");
  CHECK(wait_flag(&a, &a.have_path, 5), "alice was never told the media path");
  pthread_mutex_lock(&a.mu);
  int direct = strcmp(a.path, "host host udp") == 0;
  pthread_mutex_unlock(&a.mu);
  CHECK(direct, "the media path on loopback was not host-to-host over UDP");
  CHECK(dt_elapsed_ms(alice, created.call_id) >= 0, "no call timer after connected");
  dt_end(alice, created.call_id, NULL, NULL, NULL);
  CHECK(wait_state(&b, DT_ENDED, 10), "bob never saw the end");
  CHECK(b.duration >= 0, "no duration on a connected call's end");
  CHECK(wait_state(&a, DT_ENDED, 10), "alice never saw her own end");
  CHECK(dt_elapsed_ms(alice, created.call_id) == -1, "a timer after the end");

  /* History and details: the call, then its timeline with both sides' media reports (sent when
   * each side's media closed: asked again for a few seconds). */
  result history;
  result_init(&history);
  dt_history(alice, 10, calls_done, &history);
  CHECK(wait_result(&history) == DT_OK, "history failed");
  CHECK(history.count == 1 && strcmp(history.call_id, created.call_id) == 0 &&
            history.first_state == DT_ENDED,
        "history is not the one ended call");
  CHECK(history.push_targets == -1, "push targets on a call that pushed to nobody");
  int reported = 0;
  for (int i = 0; i < 50 && !reported; ++i) {
    result details;
    result_init(&details);
    dt_call_details(alice, created.call_id, details_done, &details);
    CHECK(wait_result(&details) == DT_OK, "call details failed");
    CHECK(strcmp(details.call_id, created.call_id) == 0, "details of another call");
    CHECK(strstr(details.timeline, "\"state\":\"connected\"") != NULL, "no connected step");
    CHECK(strstr(details.summary, "\"setupMs\"") != NULL, "no setup time in the summary");
    CHECK(!details.has_cause, "a likely cause for a call that went well");
    reported = strstr(details.timeline, "\"side\":\"caller\"") != NULL &&
               strstr(details.timeline, "\"side\":\"receiver\"") != NULL &&
               strstr(details.timeline, "media_connected") != NULL;
    if (!reported) nanosleep(&(struct timespec){0, 100000000}, NULL);
  }
  CHECK(reported, "the media reports of both sides never reached the timeline");
  result missing;
  result_init(&missing);
  dt_call_details(alice, "no-such-call", details_done, &missing);
  CHECK(wait_result(&missing) == DT_NOT_FOUND, "details of an unknown call were not not_found");
  status = 0;
out:
  dt_client_free(alice);
  dt_client_free(bob);
  return status;
}

/* Tokens, in C: a refused token and no provider is DT_CONNECTION_UNAUTHORIZED after an
 * on_error(DT_UNAUTHORIZED); dt_set_token brings the client online. A client with a provider
 * only (no token) asks it before connecting. */
typedef struct provider {
  side s;
  const char* token;
  int calls;
} provider;

static void on_error(void* user, const char* call_id, dt_error code, const char* message) {
  side* s = user;
  (void)call_id;
  (void)message;
  pthread_mutex_lock(&s->mu);
  if (code == DT_UNAUTHORIZED) s->error_unauthorized = 1;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

static const char* provide(void* user) {
  provider* p = user;
  pthread_mutex_lock(&p->s.mu);
  ++p->calls;
  pthread_mutex_unlock(&p->s.mu);
  return p->token;
}

int dialtone_c_tokens(const char* server, const char* refused, const char* good, char* why,
                      size_t why_size) {
  int status = 1;
  side a;
  side_init(&a);
  provider p;
  side_init(&p.s);
  p.token = good;
  p.calls = 0;
  dt_callbacks cba = {&a, on_connection, NULL, NULL, NULL, on_error, NULL, NULL, NULL};
  dt_callbacks cbp = {&p.s, on_connection, NULL, NULL, NULL, NULL, NULL, provide, NULL};
  dt_config cfg;
  dt_config_init(&cfg);
  cfg.server = server;
  cfg.media_enabled = 0;
  char err[256] = "";
  dt_client *alice = NULL, *bob = NULL;

  cfg.token = refused;
  alice = dt_client_new(&cfg, &cba, err, sizeof err);
  CHECK(alice, err);
  CHECK(wait_flag(&a, &a.unauthorized, 10), "a refused token never made the client unauthorized");
  CHECK(a.error_unauthorized, "no DT_UNAUTHORIZED error before DT_CONNECTION_UNAUTHORIZED");
  CHECK(!a.online, "online with a refused token");
  dt_set_token(alice, good);
  CHECK(wait_flag(&a, &a.online, 10), "dt_set_token did not bring the client online");

  cfg.token = NULL;
  bob = dt_client_new(&cfg, &cbp, err, sizeof err);
  CHECK(bob, err);
  CHECK(wait_flag(&p.s, &p.s.online, 10), "a client with a token provider never came online");
  CHECK(p.calls >= 1, "the token provider was never asked");
  status = 0;
out:
  dt_client_free(alice);
  dt_client_free(bob);
  return status;
}
