// SPDX-License-Identifier: Apache-2.0
// What reaches the push code from outside: device registrations (any client), push services'
// replies (status, body, Retry-After), Web Push bodies and ZEGO tokens. None may crash; a
// registration is either refused with Error(bad_request) or valid.
#include <openssl/evp.h>

#include <cstdint>
#include <string>

#include "core/errors.hpp"
#include "push/apns.hpp"
#include "push/fcm.hpp"
#include "push/webpush.hpp"
#include "server/device_registration.hpp"
#include "server/zego_token.hpp"

namespace {

using namespace dialtone;

struct World {
  std::unique_ptr<PushProvider> fcm, apns, web;
  PKey ua = p256_generate();
  PushReach reach{[](Platform) { return true; }, {"127.0.0.1", "fcm.googleapis.com"}};
  World() {
    FcmOptions f;
    f.account.clientEmail = "fuzz@example.com";
    f.account.tokenUri = "https://127.0.0.1/token";
    f.account.projectId = "fuzz";
    f.account.key = adopt_pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
    fcm = make_fcm_provider(f);
    ApnsOptions a;
    a.key = p256_generate();
    a.keyId = "K";
    a.teamId = "T";
    a.bundleId = "b";
    apns = make_apns_provider(a);
    web = make_webpush_provider(std::make_shared<Vapid>(p256_generate(), "mailto:a@b"),
                                reach.webpushHosts);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World w;
  if (size < 1) return 0;
  std::string in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0:
      try {
        PushDevice d = parse_device_registration(in, "user", w.reach);
        if (d.deviceId.empty() || d.token.empty()) __builtin_trap();
      } catch (const Error& e) {
        if (e.code() != ErrorCode::bad_request) __builtin_trap();
      }
      break;
    case 1: {
      HttpReply r;
      r.status = in.empty() ? 0 : 100 + static_cast<unsigned char>(in[0]) * 2;
      r.body = in.empty() ? in : in.substr(1);
      r.headers.emplace_back("retry-after", in.substr(0, 40));
      w.fcm->classify(r);
      w.apns->classify(r);
      w.web->classify(r);
      std::string err;
      w.fcm->auth_result(r, 0, err);
      parse_retry_after(r.header("retry-after"), 0);
      break;
    }
    case 2:
      webpush_decrypt(in, w.ua.get(), std::string(16, 'a'));
      break;
    case 3:
      zego_token04_open(in, "fa94dd0f974cf2e293728a526b028271");
      break;
    case 4:
      try {
        parse_subscription(in);
      } catch (const Error&) {
      }
      break;
  }
  return 0;
}
