// SPDX-License-Identifier: Apache-2.0
// Written against the installed <dialtone/client.hpp> only: alice calls bob, bob declines,
// alice sees "rejected". Usage: call_cxx SERVER ALICE_TOKEN BOB_TOKEN. Exit 0 on success.
#include <dialtone/client.hpp>

#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>

namespace {

class Side : public dialtone::Listener {
 public:
  void on_connection(dialtone::ConnectionState s) override {
    std::lock_guard lk(mu_);
    online_ = s == dialtone::ConnectionState::online;
    cv_.notify_all();
  }
  void on_call(const dialtone::CallSnapshot& call) override {
    std::lock_guard lk(mu_);
    last_ = call;
    cv_.notify_all();
  }
  bool wait_online() {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, std::chrono::seconds(10), [&] { return online_; });
  }
  // The last call snapshot once `done` holds for it (up to 10 s).
  template <class Pred>
  std::optional<dialtone::CallSnapshot> wait_call(Pred done) {
    std::unique_lock lk(mu_);
    if (!cv_.wait_for(lk, std::chrono::seconds(10), [&] { return last_ && done(*last_); }))
      return std::nullopt;
    return last_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool online_ = false;
  std::optional<dialtone::CallSnapshot> last_;
};

dialtone::ClientConfig config(const char* server, const char* token) {
  dialtone::ClientConfig c;
  c.server = server;
  c.token = token;
  c.media.enabled = false;  // signaling only: no audio devices on a test machine
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: call_cxx SERVER ALICE_TOKEN BOB_TOKEN\n";
    return 2;
  }
  Side alice, bob;
  dialtone::Client a(config(argv[1], argv[2]), alice);
  dialtone::Client b(config(argv[1], argv[3]), bob);
  if (!alice.wait_online() || !bob.wait_online()) return 1;
  auto started = a.start_call("bob").get();
  if (!started.ok()) {
    std::cerr << "start_call: " << dialtone::error_name(started.code) << "\n";
    return 1;
  }
  auto incoming = bob.wait_call([](const auto& c) { return dialtone::is_active(c.state); });
  if (!incoming) return 1;
  auto rejected = b.reject(incoming->callId).get();
  if (!rejected.ok()) {
    std::cerr << "reject: " << dialtone::error_name(rejected.code) << " " << rejected.message
              << "\n";
    return 1;
  }
  auto end =
      alice.wait_call([](const auto& c) { return c.state == dialtone::CallState::rejected; });
  std::cout << "C++: alice's call " << (end ? "was declined" : "did not go as expected") << " ("
            << (end ? dialtone::state_name(end->state) : "-") << ")\n";
  return end ? 0 : 1;
}
