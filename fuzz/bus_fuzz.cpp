// SPDX-License-Identifier: Apache-2.0
// Whatever arrives on the bus between nodes → Cluster (and the hub behind it). The input is
// "<subject>\n<payload>". A malformed message may be refused with an exception (the bus logs
// and drops it); nothing may crash, hang or trip a sanitizer, and the hub must stay usable.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/cluster.hpp"

namespace {

class CapturingBus final : public dialtone::Bus {
 public:
  void subscribe(const std::string&, Handler h) override { handler = std::move(h); }
  bool publish(const std::string&, std::string_view) override { return true; }
  bool connected() const override { return true; }
  void on_state(StateHandler) override {}
  void flush(int) override {}
  void close() override {}
  Handler handler;
};

struct Sink final : dialtone::SessionSink {
  void deliver(dialtone::Message) override {}
  void shutdown() override {}
  const std::string& user_id() const override { return user; }
  const std::string& device_id() const override { return device; }
  std::string user = "bob", device = "bob-phone";
};

struct World {
  CapturingBus bus;
  dialtone::Hub hub;
  dialtone::Cluster cluster{bus, hub, "0123456789abcdef", {3'600'000, 3'600'000}};
  World() {
    hub.set_peers(&cluster);
    hub.set_presence_listener([](const std::string&, const std::string&, bool, std::int64_t) {});
    cluster.start();
    hub.join(std::make_shared<Sink>(), std::make_shared<const std::string>("{}"));
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World* w = new World();  // one cluster for the whole run, as in a node
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto nl = text.find('\n');
  if (nl == std::string_view::npos) return 0;
  try {
    w->bus.handler(text.substr(0, nl), text.substr(nl + 1));
  } catch (const std::exception&) {
    // refused: NatsBus logs and drops it
  }
  (void)w->hub.user_online("bob");
  (void)w->hub.device_online("bob", "bob-phone");
  (void)w->hub.route("c1");
  return 0;
}
