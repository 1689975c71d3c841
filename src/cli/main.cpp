// SPDX-License-Identifier: Apache-2.0
// `dialtone`, the command-line client: log in, call, answer, listen — interactive on a terminal,
// headless for bots and tests. The exit code says how the call ended (see exit_code()).
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <CLI/CLI.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>
#include <variant>

#include <dialtone/client.hpp>

#include "cli/history.hpp"
#include "sdk/http_fetch.hpp"
#include "sdk/signaling.hpp"
#include "sdk/tls_client.hpp"
#include "util/text.hpp"
#include "util/version.hpp"

namespace dialtone::cli {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Exit codes: how the call ended. Documented in README and `dialtone --help`.
enum Exit {
  kConnectedAndEnded = 0,
  kUsage = 2,
  kUnreachable = 3,  // server unreachable, token refused, unknown user
  kRejected = 10,
  kTimeout = 11,  // nobody answered (or, for `answer`, no call came)
  kBusy = 12,
  kFailed = 13,
  kNotConnected = 14,  // ended before it connected (cancelled, answered elsewhere)
};

int exit_code(const CallSnapshot& c) {
  switch (c.state) {
    case CallState::ended:
      return c.connectedAt ? kConnectedAndEnded : kNotConnected;
    case CallState::rejected:
      return kRejected;
    case CallState::timeout:
      return kTimeout;
    case CallState::busy:
      return kBusy;
    case CallState::failed:
      return kFailed;
    case CallState::calling:
    case CallState::ringing:
    case CallState::accepted:
    case CallState::connecting:
    case CallState::connected:
      return kNotConnected;
  }
  return kFailed;
}

struct Options {
  std::string server = "http://127.0.0.1:8080";
  std::string caFile;  // extra CAs for an https server
  std::string user, token, tokenCommand, name, device;
  std::string input = "device", record, output = "device";
  std::vector<std::string> iceAddresses;
  bool relayOnly = false, autoAnswer = false;
  int mediaRecoveryTimeout = 30;
  bool summary = true;  // the call's summary from the server when it ends
  double hangupAfter = 0, duration = 0;
};

// SIGINT/SIGTERM: the first hangs up (or declines a call ringing here) and exits once the
// server has the call's end; a second one exits at once.
volatile std::sig_atomic_t g_stop = 0;
void on_stop_signal(int sig) {
  if (g_stop) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
  g_stop = 1;
}

std::filesystem::path credentials_path() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  const char* home = std::getenv("HOME");
  std::filesystem::path base = xdg ? xdg : (home ? std::filesystem::path(home) / ".config" : ".");
  return base / "dialtone" / "credentials.json";
}

// POST /v1/dev/token on a development server (the first of several that answers).
std::string dev_token(const Options& o) {
  // Without --name the server keeps the display name the user has (or names a newcomer by id).
  json::object body{{"userId", o.user}};
  if (!o.name.empty()) body["name"] = o.name;
  std::string unreachable;
  auto tls = sdk::make_tls_client_context(o.caFile);
  for (const auto& url : sdk::parse_server_urls(o.server)) {
    boost::asio::io_context ioc;
    auto f = boost::asio::co_spawn(
        ioc, sdk::http_request(url, "POST", "/v1/dev/token", "", json::serialize(body), 10s, *tls),
        boost::asio::use_future);
    ioc.run();
    auto a = f.get();
    if (a.status == 200 && a.body.is_object() && a.body.as_object().contains("token"))
      return std::string(a.body.at("token").as_string());
    if (a.status != 0)
      throw std::runtime_error("the server gave no development token (HTTP " +
                               std::to_string(a.status) + "): is an identity provider configured?");
    unreachable += (unreachable.empty() ? "" : "; ") + url.host + ":" + url.port + ": " + a.error;
  }
  throw std::runtime_error("cannot reach " + o.server + ": " + unreachable);
}

// --token-command: runs CMD with /bin/sh and takes its standard output, trimmed, as the token
// (as git's and docker's credential helpers do). A failing command or an empty output is an
// error that says so.
std::string command_token(const std::string& command) {
  std::FILE* p = ::popen(command.c_str(), "r");
  if (!p) throw std::runtime_error("--token-command: cannot run '" + command + "'");
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0 && out.size() < 65536;)
    out.append(buf, n);
  int status = ::pclose(p);
  if (status != 0)
    throw std::runtime_error("--token-command '" + command + "' failed (status " +
                             std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : status) +
                             ")");
  auto first = out.find_first_not_of(" \t\r\n");
  auto last = out.find_last_not_of(" \t\r\n");
  if (first == std::string::npos)
    throw std::runtime_error("--token-command '" + command + "' printed no token");
  return out.substr(first, last - first + 1);
}

// Where fresh tokens come from when the server asks for one: the token command, or another
// development token for --user; none for a fixed --token or a login file.
std::function<std::string()> token_provider(const Options& o) {
  if (!o.tokenCommand.empty()) return [cmd = o.tokenCommand] { return command_token(cmd); };
  if (o.token.empty() && !o.user.empty()) return [o] { return dev_token(o); };
  return {};
}

// A token from --token, else --token-command, else --user (development token), else
// `dialtone login`'s file.
void resolve_token(Options& o) {
  if (!o.token.empty()) return;
  if (!o.tokenCommand.empty()) {
    o.token = command_token(o.tokenCommand);
    return;
  }
  if (!o.user.empty()) {
    o.token = dev_token(o);
    return;
  }
  std::ifstream f(credentials_path());
  if (!f) throw std::runtime_error("no token: pass --token or --user, or run `dialtone login`");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto v = json::parse(text);
  o.token = std::string(v.at("token").as_string());
  if (o.server == "http://127.0.0.1:8080") o.server = std::string(v.at("server").as_string());
}

struct SecurityCode {
  std::string code;
};

// Events from the SDK thread, consumed by the main loop.
using Event = std::variant<CallSnapshot, MediaEvent, QualityReport, ConnectionState,
                           std::pair<ErrorCode, std::string>, SecurityCode, MediaPath>;

class Queue : public Listener {
 public:
  void on_connection(ConnectionState s) override { push(s); }
  void on_call(const CallSnapshot& c) override { push(c); }
  void on_media(const std::string&, MediaEvent e) override { push(e); }
  void on_quality(const std::string&, const QualityReport& r) override { push(r); }
  void on_security_code(const std::string&, const std::string& code) override {
    push(SecurityCode{code});
  }
  void on_media_path(const std::string&, const MediaPath& p) override { push(p); }
  void on_error(const std::string&, ErrorCode c, const std::string& m) override {
    push(std::make_pair(c, m));
  }
  std::optional<Event> pop(std::chrono::milliseconds wait) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, wait, [&] { return !q_.empty(); })) return std::nullopt;
    Event e = std::move(q_.front());
    q_.pop_front();
    return e;
  }

 private:
  void push(Event e) {
    {
      std::lock_guard lock(mu_);
      q_.push_back(std::move(e));
    }
    cv_.notify_one();
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> q_;
};

// Raw keys on a terminal, restored on exit.
class Keys {
 public:
  Keys() : tty_(isatty(STDIN_FILENO)) {
    if (!tty_) return;
    tcgetattr(STDIN_FILENO, &saved_);
    termios raw = saved_;
    raw.c_lflag &= ~(ICANON | ECHO);
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSANOW, &raw);
  }
  ~Keys() {
    if (tty_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  bool interactive() const { return tty_; }
  int read() {
    char c;
    return tty_ && ::read(STDIN_FILENO, &c, 1) == 1 ? c : -1;
  }

 private:
  bool tty_;
  termios saved_{};
};

enum class Mode { call, answer, listen };

ClientConfig client_config(Options& o) {
  auto provider = token_provider(o);
  resolve_token(o);
  ClientConfig cfg;
  cfg.tokenProvider = std::move(provider);
  cfg.server = o.server;
  cfg.caFile = o.caFile;
  cfg.token = o.token;
  cfg.deviceId = o.device;
  cfg.media.input = o.input;
  cfg.media.output = o.record.empty() ? o.output : o.record;
  cfg.media.iceLocalAddresses = o.iceAddresses;
  cfg.media.relayOnly = o.relayOnly;
  cfg.media.mediaRecoveryTimeoutS = o.mediaRecoveryTimeout;
  return cfg;
}

// The call's summary from the server (call_details sends this side's held events first).
void print_call_summary(Client& client, const CallSnapshot& call) {
  auto r = client.call_details(call.callId).get();
  if (!r.ok()) {
    std::cout << "summary unavailable: " << display_text(r.message) << "\n";
    return;
  }
  print_summary(std::cout, json::parse(r.value->summaryJson).as_object(), r.value->call,
                client.user_id());
}

// Waits until the client is online; false (said why) when it cannot be.
bool wait_online(Queue& q) {
  for (auto until = Clock::now() + 15s; Clock::now() < until;) {
    auto ev = q.pop(200ms);
    if (!ev) continue;
    if (auto* s = std::get_if<ConnectionState>(&*ev)) {
      if (*s == ConnectionState::online) return true;
      if (*s == ConnectionState::unauthorized) {
        std::cerr << "dialtone: the server refused the token\n";
        return false;
      }
    }
  }
  std::cerr << "dialtone: the server could not be reached\n";
  return false;
}

// A client without media for the reads (history, call-info), once online; null (said why) when
// it cannot be.
std::unique_ptr<Client> reader(Options& o, Queue& q) {
  ClientConfig cfg = client_config(o);
  cfg.media.enabled = false;
  auto client = std::make_unique<Client>(cfg, q);
  if (!wait_online(q)) return nullptr;
  return client;
}

int history(Options o, int limit) {
  Queue q;
  auto reading = reader(o, q);
  if (!reading) return kUnreachable;
  Client& client = *reading;
  auto r = client.history(limit).get();
  if (!r.ok()) {
    std::cerr << "dialtone: " << display_text(r.message) << "\n";
    return kUnreachable;
  }
  print_history(std::cout, *r.value, client.user_id());
  return 0;
}

int call_info(Options o, const std::string& callId, bool timeline) {
  Queue q;
  auto reading = reader(o, q);
  if (!reading) return kUnreachable;
  Client& client = *reading;
  auto r = client.call_details(callId).get();
  if (!r.ok()) {
    std::cerr << "dialtone: " << error_name(r.code) << " — " << display_text(r.message) << "\n";
    return r.code == ErrorCode::not_found ? kUsage : kUnreachable;
  }
  const CallDetails& d = *r.value;
  print_summary(std::cout, json::parse(d.summaryJson).as_object(), d.call, client.user_id());
  if (timeline) {
    std::cout << "timeline:\n";
    print_timeline(std::cout, json::parse(d.timelineJson).as_array(), d.call.timestamp);
  }
  return 0;
}

int run(Mode mode, Options o, const std::string& callee) {
  ClientConfig cfg = client_config(o);
  Queue q;
  Client client(cfg, q);
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  Keys keys;
  std::vector<std::string> outputs = {cfg.media.output};
  if (o.record.empty() && o.output != "none") outputs.push_back("none");
  size_t outputIndex = 0;

  std::optional<CallSnapshot> call;  // the call this command is about
  std::string me;
  QualityLevel level = QualityLevel::excellent;
  bool muted = false, connectedShown = false, hangupSent = false, quitting = false;
  const auto start = Clock::now();
  auto hangupAt = Clock::time_point::max();  // max: no hang-up planned
  auto stopAt = Clock::time_point::max();    // when a stop signal was acted on
  // Every line may hold what other people chose (names, reasons, the server's messages): it
  // is printed as text, so a caller named "\x1b]…" cannot drive this terminal.
  auto say = [&](const std::string& line) {
    std::cout << (keys.interactive() ? "\r\33[2K" : "") << display_text(line) << std::endl;
  };
  auto status = [&] {
    if (!keys.interactive() || !call) return;
    std::string timer = "--:--";
    if (auto e = client.elapsed(call->callId)) {
      auto s = std::chrono::duration_cast<std::chrono::seconds>(*e).count();
      timer = fmt::format("{:02}:{:02}", s / 60, s % 60);
    }
    std::cout << "\r\33[2K" << state_name(call->state) << "  "
              << display_text(call->other_name(me), 64) << "  " << timer << "  quality "
              << quality_name(level) << (muted ? "  [muted]" : "")
              << "   (m)ute (s)peaker (h)ang up" << std::flush;
  };
  auto hang_up = [&] {
    if (!call || hangupSent) return;
    hangupSent = true;
    client.end(call->callId, nullptr);
  };

  bool started = false;
  for (;;) {
    auto ev = q.pop(200ms);
    if (ev) {
      if (auto* s = std::get_if<ConnectionState>(&*ev)) {
        if (*s == ConnectionState::online && !started) {
          started = true;
          me = client.user_id();
          if (mode == Mode::call) {
            auto r = client.start_call(callee).get();
            if (!r.ok() && r.code == ErrorCode::busy) {
              say(callee + " is busy");
              return kBusy;
            }
            if (!r.ok()) {
              say("cannot call " + callee + ": " + std::string(error_name(r.code)) + " — " +
                  r.message);
              return r.code == ErrorCode::network || r.code == ErrorCode::not_found ||
                             r.code == ErrorCode::unauthorized
                         ? kUnreachable
                         : kFailed;
            }
            call = r.value;
            say("calling " + call->receiverName + " (call " + call->callId + ")");
          } else {
            say(mode == Mode::listen ? "listening for calls as " + me
                                     : "waiting for a call as " + me);
          }
        } else if (*s == ConnectionState::offline) {
          say("connection lost; reconnecting");
        } else if (*s == ConnectionState::unauthorized) {
          // The reason came just before as an error event (said above); nothing is retried.
          say("the server refused the token; get a new one (--token, --token-command, login)");
          return kUnreachable;
        }
      } else if (auto* c = std::get_if<CallSnapshot>(&*ev)) {
        bool incoming = c->receiverId == me &&
                        (c->state == CallState::calling || c->state == CallState::ringing);
        if (!call && incoming && mode != Mode::call) {
          call = *c;
          say("incoming call from " + c->callerName + " (" + c->callerId + ")");
          if (mode == Mode::answer || o.autoAnswer) {
            client.accept(c->callId, nullptr);
          } else if (keys.interactive()) {
            say("press a to answer, r to reject");
          }
          continue;
        }
        if (!call || c->callId != call->callId) continue;
        auto before = call->state;
        call = *c;
        if (c->state != before)
          say(std::string(state_name(c->state)) + (c->reason ? " (" + *c->reason + ")" : ""));
        if (c->state == CallState::connected && !connectedShown) {
          connectedShown = true;
          say("connected with " + c->other_name(me));
          if (o.hangupAfter > 0)
            hangupAt = Clock::now() + std::chrono::milliseconds(long(o.hangupAfter * 1000));
        }
        if (!is_active(c->state)) {
          if (c->durationSeconds) say(fmt::format("duration {} s", *c->durationSeconds));
          if (o.summary) print_call_summary(client, *c);
          int code = exit_code(*c);
          if (mode != Mode::listen || quitting) return code;
          call.reset();
          connectedShown = hangupSent = false;
          hangupAt = Clock::time_point::max();
        }
      } else if (auto* m = std::get_if<MediaEvent>(&*ev)) {
        if (*m == MediaEvent::reconnecting) say("media: reconnecting");
        if (*m == MediaEvent::reconnected) say("media: reconnected");
        if (*m == MediaEvent::connected) say("media: audio flowing");
      } else if (auto* r = std::get_if<QualityReport>(&*ev)) {
        if (r->level != level || !keys.interactive())
          say(fmt::format("quality {} (loss {:.1f} %, jitter {:.1f} ms)", quality_name(r->level),
                          r->lossPercent, r->jitterMs));
        level = r->level;
      } else if (auto* sc = std::get_if<SecurityCode>(&*ev)) {
        say("security code " + sc->code + " (the other side should see the same)");
      } else if (auto* p = std::get_if<MediaPath>(&*ev)) {
        // One line, stable for scripts: "media path: <local> <remote> <protocol>".
        say("media path: " + p->local + " " + p->remote + " " + p->protocol);
      } else if (auto* e = std::get_if<std::pair<ErrorCode, std::string>>(&*ev)) {
        say("error: " + std::string(error_name(e->first)) + " — " + e->second);
      }
    }
    if (int k = keys.read(); k > 0 && call) {
      if (k == 'm') {
        muted = !muted;
        client.set_muted(call->callId, muted);
      } else if (k == 's' && outputs.size() > 1) {
        outputIndex = (outputIndex + 1) % outputs.size();
        client.set_output(outputs[outputIndex]);
        say("output: " + outputs[outputIndex]);
      } else if (k == 'h' || k == 'q') {
        quitting = k == 'q';
        hang_up();
      } else if (k == 'a') {
        client.accept(call->callId, nullptr);
      } else if (k == 'r') {
        client.reject(call->callId, nullptr);
      }
    }
    auto now = Clock::now();
    if (g_stop && stopAt == Clock::time_point::max()) {
      stopAt = now;
      quitting = true;
      if (!call || !is_active(call->state)) return mode == Mode::call ? kNotConnected : kTimeout;
      bool ringingHere = call->callerId != me &&
                         (call->state == CallState::calling || call->state == CallState::ringing);
      if (ringingHere) {
        hangupSent = true;
        client.reject(call->callId, nullptr);
      } else {
        hang_up();
      }
    }
    if (now - stopAt > 5s) return kFailed;  // the server never confirmed the end
    if (now >= hangupAt) hang_up();
    if (o.duration > 0 && now - start >= std::chrono::milliseconds(long(o.duration * 1000))) {
      if (!call) return mode == Mode::listen ? kConnectedAndEnded : kTimeout;
      quitting = true;
      hang_up();
      if (now - start >= std::chrono::milliseconds(long(o.duration * 1000)) + 5s) return kFailed;
    }
    status();
  }
}

int login(Options o) {
  if (o.user.empty()) throw CLI::ValidationError("login", "--user is required");
  std::string token = dev_token(o);
  auto path = credentials_path();
  std::filesystem::create_directories(path.parent_path());
  {
    std::ofstream f(path, std::ios::trunc);
    f << json::serialize(json::object{{"server", o.server}, {"token", token}}) << "\n";
  }
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::cout << "logged in as " << o.user << " on " << o.server << " (" << path.string() << ")\n";
  return 0;
}

}  // namespace dialtone::cli

int main(int argc, char** argv) {
  using namespace dialtone::cli;
  Options o;
  std::string callee;
  CLI::App app{
      "dialtone — voice calls through dialtoned.\n"
      "Exit codes: 0 connected and ended, 10 rejected, 11 timeout (no answer / no call),\n"
      "12 busy, 13 failed, 14 ended before connecting, 2 usage, 3 server unreachable "
      "or refused."};
  app.require_subcommand(1);
  // The options above the subcommands work after one too (`dialtone call bob --server URL`).
  app.fallthrough();
  app.set_version_flag("--version", "dialtone " + std::string(dialtone::version()));
  app.add_option("--server", o.server,
                 "dialtoned's URL; a cluster's nodes separated by commas (fail-over)")
      ->envname("DIALTONE_SERVER");
  app.add_option("--user", o.user, "user id (development token)");
  app.add_option("--ca-file", o.caFile,
                 "PEM file of CAs trusted for an https server besides the system's")
      ->envname("DIALTONE_CA_FILE");
  auto* tokenOpt = app.add_option("--token", o.token, "a JWT")->envname("DIALTONE_TOKEN");
  app.add_option("--token-command", o.tokenCommand,
                 "a shell command that prints a fresh JWT; run again whenever the server asks "
                 "for a renewal")
      ->envname("DIALTONE_TOKEN_COMMAND")
      ->excludes(tokenOpt);
  app.add_option("--device", o.device, "this device's id");
  auto* loginCmd = app.add_subcommand("login", "get a development token and keep it");
  loginCmd->add_option("--name", o.name, "display name");
  auto media_flags = [&](CLI::App* c) {
    c->add_option("--input", o.input, "tone:HZ | file.wav | device[:NAME] | silence");
    c->add_option("--record", o.record, "write received audio to this WAV file");
    c->add_option("--output", o.output, "device[:NAME] | none (ignored with --record)");
    c->add_option("--hangup-after", o.hangupAfter, "hang up this many seconds after connecting");
    c->add_option("--duration", o.duration, "stop after this many seconds in all");
    c->add_option("--ice-address", o.iceAddresses, "local address(es) for ICE");
    c->add_flag("--relay-only", o.relayOnly, "media through TURN only");
    c->add_option("--media-recovery-timeout", o.mediaRecoveryTimeout,
                  "end the call when its audio path stays lost this many seconds")
        ->check(CLI::Range(1, 3600));
  };
  auto* callCmd = app.add_subcommand("call", "call a user");
  callCmd->add_option("user", callee, "who to call")->required();
  media_flags(callCmd);
  auto* answerCmd = app.add_subcommand("answer", "wait for the next call and answer it");
  media_flags(answerCmd);
  auto* listenCmd = app.add_subcommand("listen", "wait for calls (interactive: a / r)");
  listenCmd->add_flag("--auto-answer", o.autoAnswer, "answer every call");
  media_flags(listenCmd);
  for (auto* c : {callCmd, answerCmd, listenCmd})
    c->add_flag("!--no-summary", o.summary, "do not print the call's summary when it ends");
  int limit = 20;
  auto* historyCmd = app.add_subcommand("history", "your recent calls, newest first");
  historyCmd->add_option("--limit", limit, "how many (1..200)")->check(CLI::Range(1, 200));
  std::string callId;
  bool withTimeline = false;
  auto* infoCmd = app.add_subcommand(
      "call-info", "one call's summary: setup, path, quality, and why it went wrong");
  infoCmd->add_option("id", callId, "the call's id (from `dialtone history`)")->required();
  infoCmd->add_flag("--timeline", withTimeline, "every event of the call, in time order");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kUsage;
  }
  spdlog::set_level(std::getenv("DIALTONE_DEBUG") ? spdlog::level::debug : spdlog::level::warn);
  try {
    if (*loginCmd) return login(o);
    if (*callCmd) return run(Mode::call, o, callee);
    if (*answerCmd) return run(Mode::answer, o, "");
    if (*historyCmd) return history(o, limit);
    if (*infoCmd) return call_info(o, callId, withTimeline);
    return run(Mode::listen, o, "");
  } catch (const std::invalid_argument& e) {
    std::cerr << "dialtone: " << dialtone::display_text(e.what()) << "\n";
    return kUsage;
  } catch (const CLI::Error& e) {
    std::cerr << "dialtone: " << dialtone::display_text(e.what()) << "\n";
    return kUsage;
  } catch (const std::exception& e) {
    std::cerr << "dialtone: " << dialtone::display_text(e.what()) << "\n";
    return kUnreachable;
  }
}
