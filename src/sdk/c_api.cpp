// SPDX-License-Identifier: Apache-2.0
// The C ABI: dialtone.h over dialtone::Client, one function each. The only place where SDK
// values become C values (ErrorCode -> dt_error, CallSnapshot -> dt_call).
#include <dialtone/dialtone.h>

#include <cstring>
#include <string>
#include <vector>

#include <dialtone/client.hpp>

using namespace dialtone;

static_assert(DT_MEDIA_FAILED == static_cast<int>(ErrorCode::media_failed));
static_assert(DT_FAILED == static_cast<int>(CallState::failed));
static_assert(DT_VERY_POOR == static_cast<int>(QualityLevel::very_poor));
static_assert(DT_MEDIA_RECONNECTED == static_cast<int>(MediaEvent::reconnected));
static_assert(DT_OFFLINE == static_cast<int>(ConnectionState::offline));
static_assert(DT_CONNECTION_UNAUTHORIZED == static_cast<int>(ConnectionState::unauthorized));

namespace {

// A dt_call whose strings point into `s`, which must outlive it.
dt_call to_c(const CallSnapshot& s) {
  dt_call c{};
  c.call_id = s.callId.c_str();
  c.caller_id = s.callerId.c_str();
  c.caller_name = s.callerName.c_str();
  c.caller_photo = s.callerPhoto.c_str();
  c.receiver_id = s.receiverId.c_str();
  c.receiver_name = s.receiverName.c_str();
  c.receiver_photo = s.receiverPhoto.c_str();
  c.state = static_cast<dt_call_state>(s.state);
  c.caller_ready = s.callerReady;
  c.receiver_ready = s.receiverReady;
  c.timestamp_ms = s.timestamp;
  c.connected_at_ms = s.connectedAt.value_or(-1);
  c.last_updated_ms = s.lastUpdated;
  c.ring_deadline_ms = s.ringDeadline;
  c.duration_seconds = s.durationSeconds.value_or(-1);
  c.reason = s.reason ? s.reason->c_str() : nullptr;
  c.answered_by = s.answeredBy ? s.answeredBy->c_str() : nullptr;
  c.ringing_devices = s.ringingDevices;
  c.caller_muted = s.callerMuted;
  c.receiver_muted = s.receiverMuted;
  c.version = s.version;
  c.push_targets = s.delivery ? s.delivery->targets : -1;
  c.push_sent = s.delivery ? s.delivery->sent : -1;
  c.push_failed = s.delivery ? s.delivery->failed : -1;
  return c;
}

class CListener : public Listener {
 public:
  explicit CListener(const dt_callbacks& cb) : cb_(cb) {}
  void on_connection(ConnectionState s) override {
    if (cb_.on_connection) cb_.on_connection(cb_.user, static_cast<dt_connection_state>(s));
  }
  void on_call(const CallSnapshot& s) override {
    if (!cb_.on_call) return;
    dt_call c = to_c(s);
    cb_.on_call(cb_.user, &c);
  }
  void on_media(const std::string& id, MediaEvent e) override {
    if (cb_.on_media) cb_.on_media(cb_.user, id.c_str(), static_cast<dt_media_event>(e));
  }
  void on_quality(const std::string& id, const QualityReport& r) override {
    if (!cb_.on_quality) return;
    dt_quality q{static_cast<dt_quality_level>(r.level), r.lossPercent, r.jitterMs,
                 r.rttMs.value_or(-1), r.packetsReceived};
    cb_.on_quality(cb_.user, id.c_str(), &q);
  }
  void on_media_path(const std::string& id, const MediaPath& p) override {
    if (cb_.on_media_path)
      cb_.on_media_path(cb_.user, id.c_str(), p.local.c_str(), p.remote.c_str(),
                        p.protocol.c_str());
  }
  void on_security_code(const std::string& id, const std::string& code) override {
    if (cb_.on_security_code) cb_.on_security_code(cb_.user, id.c_str(), code.c_str());
  }
  void on_error(const std::string& id, ErrorCode code, const std::string& m) override {
    if (cb_.on_error) cb_.on_error(cb_.user, id.c_str(), static_cast<dt_error>(code), m.c_str());
  }

 private:
  dt_callbacks cb_;
};

Client::Completion<CallSnapshot> call_done(dt_call_done done, void* user) {
  if (!done) return {};
  return [done, user](CallResult r) {
    const CallSnapshot* s = r.value ? &*r.value : r.call ? &*r.call : nullptr;
    dt_call c{};
    if (s) c = to_c(*s);
    done(user, static_cast<dt_error>(r.code), r.message.c_str(), s ? &c : nullptr);
  };
}

std::string str(const char* s, const char* fallback = "") {
  return s ? s : fallback;
}

dialtone::Client::Completion<bool> bool_done(dt_bool_done done, void* user) {
  return [done, user](BoolResult r) {
    if (done) done(user, static_cast<dt_error>(r.code), r.message.c_str(), r.value.value_or(false));
  };
}

}  // namespace

struct dt_client {
  CListener listener;
  Client client;
  dt_client(const dt_callbacks& cb, ClientConfig cfg)
      : listener(cb), client(std::move(cfg), listener) {}
};

extern "C" {

void dt_config_init(dt_config* c) {
  *c = dt_config{};
  c->server = "http://127.0.0.1:8080";
  c->media_enabled = 1;
  c->input = "device";
  c->output = "device";
  c->auto_ringing = 1;
}

dt_client* dt_client_new(const dt_config* config, const dt_callbacks* callbacks, char* error,
                         size_t error_size) {
  auto fail = [&](const std::string& why) -> dt_client* {
    if (error && error_size) {
      std::strncpy(error, why.c_str(), error_size - 1);
      error[error_size - 1] = '\0';
    }
    return nullptr;
  };
  if (!config) return fail("config is NULL");
  ClientConfig cfg;
  cfg.server = str(config->server, "http://127.0.0.1:8080");
  cfg.token = str(config->token);
  cfg.deviceId = str(config->device_id);
  cfg.caFile = str(config->ca_file);
  cfg.autoRinging = config->auto_ringing != 0;
  cfg.media.enabled = config->media_enabled != 0;
  cfg.media.input = str(config->input, "device");
  cfg.media.output = str(config->output, "device");
  cfg.media.relayOnly = config->relay_only != 0;
  if (config->media_recovery_timeout_s != 0)
    cfg.media.mediaRecoveryTimeoutS = config->media_recovery_timeout_s;
  std::string addrs = str(config->ice_local_addresses);
  for (size_t start = 0; start < addrs.size();) {
    size_t comma = addrs.find(',', start);
    if (comma == std::string::npos) comma = addrs.size();
    if (comma > start) cfg.media.iceLocalAddresses.push_back(addrs.substr(start, comma - start));
    start = comma + 1;
  }
  dt_callbacks cb{};
  if (callbacks) cb = *callbacks;
  if (cb.token_provider)
    cfg.tokenProvider = [provider = cb.token_provider, user = cb.user]() -> std::string {
      const char* t = provider(user);
      return t ? t : "";
    };
  try {
    return new dt_client(cb, std::move(cfg));
  } catch (const std::exception& e) {
    return fail(e.what());
  }
}

void dt_client_free(dt_client* c) {
  delete c;
}

void dt_start_call(dt_client* c, const char* receiver, dt_call_done done, void* user) {
  c->client.start_call(str(receiver), call_done(done, user));
}
void dt_accept(dt_client* c, const char* id, dt_call_done done, void* user) {
  c->client.accept(str(id), call_done(done, user));
}
void dt_reject(dt_client* c, const char* id, const char* reason, dt_call_done done, void* user) {
  c->client.reject(str(id), call_done(done, user), str(reason));
}
void dt_end(dt_client* c, const char* id, const char* reason, dt_call_done done, void* user) {
  c->client.end(str(id), call_done(done, user), str(reason));
}
void dt_ringing(dt_client* c, const char* id, dt_call_done done, void* user) {
  c->client.ringing(str(id), call_done(done, user));
}
void dt_history(dt_client* c, int limit, dt_calls_done done, void* user) {
  c->client.history(limit, [done, user](Result<std::vector<CallSnapshot>> r) {
    if (!done) return;
    std::vector<dt_call> calls;
    if (r.value)
      for (const auto& s : *r.value) calls.push_back(to_c(s));
    done(user, static_cast<dt_error>(r.code), r.message.c_str(), calls.data(), calls.size());
  });
}

void dt_call_details(dt_client* c, const char* call_id, dt_details_done done, void* user) {
  c->client.call_details(str(call_id), [done, user](Result<CallDetails> r) {
    if (!done) return;
    if (!r.value) {
      done(user, static_cast<dt_error>(r.code), r.message.c_str(), nullptr, nullptr, nullptr,
           nullptr);
      return;
    }
    const CallDetails& d = *r.value;
    dt_call call = to_c(d.call);
    done(user, DT_OK, "", &call, d.timelineJson.c_str(), d.summaryJson.c_str(),
         d.likelyCause ? d.likelyCause->c_str() : nullptr);
  });
}

void dt_is_user_busy(dt_client* c, const char* user_id, dt_bool_done done, void* user) {
  c->client.is_user_busy(str(user_id), bool_done(done, user));
}
void dt_register_push(dt_client* c, const char* platform, const char* token,
                      const char* alert_token, const char* environment, dt_bool_done done,
                      void* user) {
  c->client.register_push({str(platform), str(token), str(alert_token), str(environment)},
                          bool_done(done, user));
}
void dt_unregister_push(dt_client* c, dt_bool_done done, void* user) {
  c->client.unregister_push(bool_done(done, user));
}
void dt_set_muted(dt_client* c, const char* id, int muted, dt_call_done done, void* user) {
  c->client.set_muted(str(id), muted != 0, call_done(done, user));
}
dt_error dt_set_output(dt_client* c, const char* output) {
  try {
    c->client.set_output(str(output));
    return DT_OK;
  } catch (const std::exception&) {
    return DT_BAD_REQUEST;
  }
}
void dt_network_changed(dt_client* c) {
  c->client.network_changed();
}
void dt_set_token(dt_client* c, const char* token) {
  c->client.set_token(str(token));
}
int64_t dt_elapsed_ms(dt_client* c, const char* id) {
  auto e = c->client.elapsed(str(id));
  return e ? e->count() : -1;
}
int64_t dt_clock_offset_ms(dt_client* c) {
  return c->client.clock_offset().count();
}
const char* dt_error_name(dt_error code) {
  return error_name(static_cast<ErrorCode>(code)).data();
}
const char* dt_state_name(dt_call_state s) {
  return state_name(static_cast<CallState>(s)).data();
}

}  // extern "C"
