// SPDX-License-Identifier: Apache-2.0
#include "util/crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <stdexcept>

namespace dialtone {

namespace {

using MdCtx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;
using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;

const unsigned char* u8(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* u8(std::string& s) {
  return reinterpret_cast<unsigned char*>(s.data());
}

[[noreturn]] void fail(const char* what) {
  throw std::runtime_error(what);
}

PKey p256_from_params(std::string_view point, const BIGNUM* priv) {
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  if (!bld) return nullptr;
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  if (priv) OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv);
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  OSSL_PARAM_BLD_free(bld);
  if (!params) return nullptr;
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr), EVP_PKEY_CTX_free);
  EVP_PKEY* raw = nullptr;
  bool ok = ctx && EVP_PKEY_fromdata_init(ctx.get()) == 1 &&
            EVP_PKEY_fromdata(ctx.get(), &raw, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                              params) == 1;
  OSSL_PARAM_free(params);
  if (!ok) return nullptr;
  PKey key = adopt_pkey(raw);
  // fromdata decodes the point; the check also rejects the point at infinity and off-curve points.
  PkeyCtx check(EVP_PKEY_CTX_new_from_pkey(nullptr, raw, nullptr), EVP_PKEY_CTX_free);
  if (!check || EVP_PKEY_public_check(check.get()) != 1) return nullptr;
  return key;
}

}  // namespace

PKey adopt_pkey(EVP_PKEY* raw) {
  return PKey(raw, EVP_PKEY_free);
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), u8(data), data.size(), out,
            &len))
    fail("HMAC failed");
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string sha256(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr) != 1)
    fail("SHA-256 failed");
  return std::string(reinterpret_cast<char*>(out), len);
}

bool same_secret(std::string_view a, std::string_view b) {
  std::string ha = sha256(a), hb = sha256(b);
  return CRYPTO_memcmp(ha.data(), hb.data(), ha.size()) == 0;
}

PKey private_key_from_pem(std::string_view pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return nullptr;
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  return raw ? adopt_pkey(raw) : nullptr;
}

PKey public_key_from_pem(std::string_view pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return nullptr;
  EVP_PKEY* raw = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  return raw ? adopt_pkey(raw) : nullptr;
}

std::string private_key_to_pem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    fail("cannot write the private key");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string sign_sha256(EVP_PKEY* key, std::string_view data) {
  MdCtx ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, u8(data), data.size()) != 1)
    fail("signing failed");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), u8(sig), &len, u8(data), data.size()) != 1) fail("signing failed");
  sig.resize(len);
  return sig;
}

bool verify_sha256(EVP_PKEY* key, std::string_view data, std::string_view signature) {
  MdCtx ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!key || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1)
    return false;
  return EVP_DigestVerify(ctx.get(), u8(signature), signature.size(), u8(data), data.size()) == 1;
}

std::optional<std::string> ecdsa_raw_to_der(std::string_view raw) {
  if (raw.size() != 64) return std::nullopt;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(u8(raw), 32, nullptr);
  BIGNUM* s = BN_bin2bn(u8(raw) + 32, 32, nullptr);
  if (!sig || !r || !s) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return std::nullopt;
  }
  ECDSA_SIG_set0(sig, r, s);
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (len <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string ecdsa_der_to_raw(std::string_view der) {
  const unsigned char* p = u8(der);
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (!sig) fail("bad ECDSA signature");
  std::string out(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), u8(out), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), u8(out) + 32, 32);
  ECDSA_SIG_free(sig);
  return out;
}

PKey p256_generate() {
  EVP_PKEY* raw = EVP_EC_gen("prime256v1");
  if (!raw) fail("cannot generate a P-256 key");
  return adopt_pkey(raw);
}

std::string p256_public_bytes(EVP_PKEY* key) {
  std::string out(65, '\0');
  size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, u8(out), out.size(), &len) !=
          1 ||
      len != 65)
    fail("not an uncompressed P-256 public key");
  return out;
}

PKey p256_public_from_bytes(std::string_view point) {
  if (point.size() != 65 || point[0] != 0x04) return nullptr;
  return p256_from_params(point, nullptr);
}

PKey p256_from_scalar(std::string_view scalar, std::string_view point) {
  if (scalar.size() != 32 || point.size() != 65) return nullptr;
  BIGNUM* d = BN_bin2bn(u8(scalar), 32, nullptr);
  if (!d) return nullptr;
  PKey key = p256_from_params(point, d);
  BN_clear_free(d);
  return key;
}

std::string ecdh(EVP_PKEY* own_private, EVP_PKEY* peer_public) {
  PkeyCtx ctx(EVP_PKEY_CTX_new(own_private, nullptr), EVP_PKEY_CTX_free);
  size_t len = 0;
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer_public) != 1 ||
      EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1)
    fail("ECDH failed");
  std::string out(len, '\0');
  if (EVP_PKEY_derive(ctx.get(), u8(out), &len) != 1) fail("ECDH failed");
  out.resize(len);
  return out;
}

namespace {

const EVP_CIPHER* gcm_for(std::string_view key) {
  if (key.size() == 16) return EVP_aes_128_gcm();
  if (key.size() == 32) return EVP_aes_256_gcm();
  fail("AES-GCM key must be 16 or 32 bytes");
}

}  // namespace

std::string aes_gcm_encrypt(std::string_view key, std::string_view nonce, std::string_view plain) {
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0, fin = 0;
  std::string out(plain.size() + 16, '\0');
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), gcm_for(key), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()),
                          nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, u8(key), u8(nonce)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), u8(out), &len, u8(plain), static_cast<int>(plain.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), u8(out) + len, &fin) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16, u8(out) + plain.size()) != 1)
    fail("AES-GCM encryption failed");
  return out;
}

std::optional<std::string> aes_gcm_decrypt(std::string_view key, std::string_view nonce,
                                           std::string_view sealed) {
  if (sealed.size() < 16 || (key.size() != 16 && key.size() != 32) || nonce.empty())
    return std::nullopt;
  std::string_view cipher = sealed.substr(0, sealed.size() - 16);
  std::string tag(sealed.substr(sealed.size() - 16));
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out(cipher.size(), '\0');
  int len = 0, fin = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), gcm_for(key), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()),
                          nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, u8(key), u8(nonce)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), u8(out), &len, u8(cipher), static_cast<int>(cipher.size())) !=
          1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, 16, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), u8(out) + len, &fin) != 1)
    return std::nullopt;
  return out;
}

std::string aes_cbc_encrypt(std::string_view key, std::string_view iv, std::string_view plain) {
  if (key.size() != 32 || iv.size() != 16) fail("AES-256-CBC needs a 32-byte key and 16-byte IV");
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out(plain.size() + 16, '\0');
  int len = 0, fin = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_cbc(), nullptr, u8(key), u8(iv)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), u8(out), &len, u8(plain), static_cast<int>(plain.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), u8(out) + len, &fin) != 1)
    fail("AES-CBC encryption failed");
  out.resize(static_cast<size_t>(len + fin));
  return out;
}

std::optional<std::string> aes_cbc_decrypt(std::string_view key, std::string_view iv,
                                           std::string_view cipher) {
  if (key.size() != 32 || iv.size() != 16 || cipher.empty() || cipher.size() % 16)
    return std::nullopt;
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out(cipher.size() + 16, '\0');
  int len = 0, fin = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_cbc(), nullptr, u8(key), u8(iv)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), u8(out), &len, u8(cipher), static_cast<int>(cipher.size())) !=
          1 ||
      EVP_DecryptFinal_ex(ctx.get(), u8(out) + len, &fin) != 1)
    return std::nullopt;
  out.resize(static_cast<size_t>(len + fin));
  return out;
}

std::string hex_encode(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::optional<std::string> hex_decode(std::string_view text) {
  if (text.size() % 2) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 2);
  for (size_t i = 0; i < text.size(); i += 2) {
    int hi = nibble(text[i]), lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi << 4 | lo);
  }
  return out;
}

}  // namespace dialtone
