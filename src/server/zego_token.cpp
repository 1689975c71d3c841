// SPDX-License-Identifier: Apache-2.0
#include "server/zego_token.hpp"

#include <boost/json.hpp>

#include <stdexcept>

#include "util/crypto.hpp"
#include "util/encoding.hpp"

namespace dialtone {

namespace json = boost::json;

namespace {

void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>(v >> (8 * i));
}

std::uint64_t get_be(std::string_view in, size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = v << 8 | static_cast<unsigned char>(in[at + i]);
  return v;
}

std::uint32_t random_u32() {
  std::string r = random_bytes(4);
  return static_cast<std::uint32_t>(get_be(r, 0, 4));
}

}  // namespace

std::string zego_token04(const ZegoTokenSpec& s) {
  if (s.appId == 0) throw std::invalid_argument("ZEGO app id must not be 0");
  if (s.userId.empty() || s.userId.size() > 64)
    throw std::invalid_argument("ZEGO user id must be 1..64 characters");
  if (s.secret.size() != 32)
    throw std::invalid_argument("ZEGO server secret must be 32 characters");
  if (s.ttlSeconds <= 0) throw std::invalid_argument("ZEGO token lifetime must be positive");
  std::size_t iv_len = s.mode == ZegoMode::gcm ? 12 : 16;
  if (s.iv.size() != iv_len) throw std::invalid_argument("ZEGO IV/nonce has the wrong length");

  std::int64_t expire = s.ctime + s.ttlSeconds;
  json::object doc;  // this key order is what ZEGO's Node/C++/Python libraries write
  doc["app_id"] = s.appId;
  doc["user_id"] = s.userId;
  doc["nonce"] = s.nonce;
  doc["ctime"] = s.ctime;
  doc["expire"] = expire;
  doc["payload"] = s.payload;
  std::string plain = json::serialize(doc);
  std::string cipher = s.mode == ZegoMode::gcm ? aes_gcm_encrypt(s.secret, s.iv, plain)
                                               : aes_cbc_encrypt(s.secret, s.iv, plain);
  if (cipher.size() > 0xffff) throw std::invalid_argument("ZEGO token payload too long");
  std::string blob;
  put_be(blob, static_cast<std::uint64_t>(expire), 8);
  put_be(blob, s.iv.size(), 2);
  blob += s.iv;
  put_be(blob, cipher.size(), 2);
  blob += cipher;
  if (s.mode == ZegoMode::gcm) blob += '\x01';
  return "04" + base64_encode(blob);
}

std::string zego_token04_random(ZegoTokenSpec spec) {
  spec.nonce = static_cast<std::int32_t>(random_u32() & 0x7fffffff);
  if (spec.mode == ZegoMode::gcm) {
    spec.iv = random_bytes(12);
  } else {
    static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";  // 36 characters
    spec.iv.clear();
    while (spec.iv.size() < 16) {
      unsigned char b = static_cast<unsigned char>(random_bytes(1)[0]);
      if (b < 252) spec.iv += alphabet[b % 36];  // 252 = 7 * 36: no modulo bias
    }
  }
  return zego_token04(spec);
}

std::string zego_room_payload(std::string_view roomId) {
  json::object p;
  p["room_id"] = roomId;
  p["privilege"] = json::object{{"1", 1}, {"2", 1}};
  p["stream_id_list"] = nullptr;
  return json::serialize(p);
}

std::optional<ZegoTokenContents> zego_token04_open(std::string_view token,
                                                   std::string_view secret) {
  if (token.size() < 3 || token.substr(0, 2) != "04" || secret.size() != 32) return std::nullopt;
  auto blob = base64_decode(token.substr(2));
  if (!blob || blob->size() < 12) return std::nullopt;
  std::string_view b = *blob;
  ZegoTokenContents out{ZegoMode::cbc, static_cast<std::int64_t>(get_be(b, 0, 8)), {}};
  size_t iv_len = get_be(b, 8, 2);
  if (b.size() < 10 + iv_len + 2) return std::nullopt;
  std::string_view iv = b.substr(10, iv_len);
  size_t c_len = get_be(b, 10 + iv_len, 2);
  size_t at = 12 + iv_len;
  if (b.size() < at + c_len) return std::nullopt;
  std::string_view cipher = b.substr(at, c_len);
  size_t rest = b.size() - at - c_len;
  std::optional<std::string> plain;
  if (rest == 1 && b.back() == '\x01') {
    out.mode = ZegoMode::gcm;
    if (iv_len != 12) return std::nullopt;
    plain = aes_gcm_decrypt(secret, iv, cipher);
  } else if (rest == 0) {
    plain = aes_cbc_decrypt(secret, iv, cipher);
  }
  if (!plain) return std::nullopt;
  out.plaintext = std::move(*plain);
  return out;
}

}  // namespace dialtone
