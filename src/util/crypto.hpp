// SPDX-License-Identifier: Apache-2.0
// The cryptographic steps Dialtone composes (JWS, Web Push, ZEGO tokens), each one OpenSSL's.
// Byte strings are std::string; keys are shared EVP_PKEYs. Failures throw std::runtime_error
// unless the function returns optional (those reject untrusted input).
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace dialtone {

using PKey = std::shared_ptr<EVP_PKEY>;
PKey adopt_pkey(EVP_PKEY* raw);

std::string hmac_sha256(std::string_view key, std::string_view data);
std::string sha256(std::string_view data);
// Whether two secrets are equal, in time that does not depend on where they differ.
bool same_secret(std::string_view a, std::string_view b);

// PEM (PKCS#8 private key, or SubjectPublicKeyInfo public key); nullptr when it does not parse.
PKey private_key_from_pem(std::string_view pem);
PKey public_key_from_pem(std::string_view pem);
std::string private_key_to_pem(EVP_PKEY* key);

// SHA-256 signatures: RSASSA-PKCS1-v1_5 for RSA keys, DER ECDSA for EC keys.
std::string sign_sha256(EVP_PKEY* key, std::string_view data);
bool verify_sha256(EVP_PKEY* key, std::string_view data, std::string_view signature);
// JWS carries ECDSA P-256 signatures as r||s, 32 bytes each (RFC 7518 §3.4).
std::optional<std::string> ecdsa_raw_to_der(std::string_view raw);
std::string ecdsa_der_to_raw(std::string_view der);

// P-256 keys. Public keys travel as the 65-byte uncompressed point 0x04||X||Y.
PKey p256_generate();
std::string p256_public_bytes(EVP_PKEY* key);
// nullptr unless `point` is an uncompressed point on the curve.
PKey p256_public_from_bytes(std::string_view point);
// A key pair from its private scalar (32 bytes) and public point.
PKey p256_from_scalar(std::string_view scalar, std::string_view point);
// The ECDH shared secret (the X coordinate, 32 bytes).
std::string ecdh(EVP_PKEY* own_private, EVP_PKEY* peer_public);

// AES-GCM with a 16-byte tag appended; the key size (16 or 32 bytes) picks AES-128 or AES-256.
std::string aes_gcm_encrypt(std::string_view key, std::string_view nonce, std::string_view plain);
std::optional<std::string> aes_gcm_decrypt(std::string_view key, std::string_view nonce,
                                           std::string_view sealed);
// AES-256-CBC with PKCS#7 padding.
std::string aes_cbc_encrypt(std::string_view key, std::string_view iv, std::string_view plain);
std::optional<std::string> aes_cbc_decrypt(std::string_view key, std::string_view iv,
                                           std::string_view cipher);

std::string hex_encode(std::string_view bytes);
std::optional<std::string> hex_decode(std::string_view text);

}  // namespace dialtone
