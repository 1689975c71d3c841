// SPDX-License-Identifier: Apache-2.0
// ZEGOCLOUD "token04": what a ZEGO SDK logs in with, minted here so that the ServerSecret
// never leaves the server. "04" + base64(expire, IV/nonce, ciphertext [, mode byte]) of a JSON
// document {app_id, user_id, nonce, ctime, expire, payload}; the key is the 32 ASCII bytes of
// the secret (AES-256). GCM is what ZEGO's current libraries emit; CBC is the legacy form.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dialtone {

enum class ZegoMode { gcm, cbc };

struct ZegoTokenSpec {
  std::uint32_t appId = 0;
  std::string userId;
  std::string secret;   // exactly 32 characters
  std::string payload;  // "" or a privilege document serialized to a string
  std::int64_t ctime = 0;
  std::int64_t ttlSeconds = 3600;
  std::int32_t nonce = 0;
  std::string iv;  // 16 bytes (CBC) or 12 bytes (GCM)
  ZegoMode mode = ZegoMode::gcm;
};

// Deterministic from the spec; throws std::invalid_argument on a spec ZEGO would refuse.
std::string zego_token04(const ZegoTokenSpec& spec);
// Fills nonce and IV from the CSPRNG (IV for CBC: 16 characters of 0-9a-z, as ZEGO's libraries).
std::string zego_token04_random(ZegoTokenSpec spec);

// The privilege payload for one room: may log in ("1") and publish ("2").
std::string zego_room_payload(std::string_view roomId);

struct ZegoTokenContents {
  ZegoMode mode;
  std::int64_t expire;
  std::string plaintext;  // the JSON document
};
// Decodes and decrypts a token (what ZEGO's server does); nullopt on any defect.
std::optional<ZegoTokenContents> zego_token04_open(std::string_view token, std::string_view secret);

}  // namespace dialtone
