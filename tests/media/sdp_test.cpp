// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "media/audio_out.hpp"
#include "media/sdp.hpp"

namespace dialtone::media {
namespace {

std::string offer(const std::string& rtpmaps) {
  return "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 0 9\r\n"
         "c=IN IP4 0.0.0.0\r\na=mid:0\r\n" +
         rtpmaps;
}

TEST(Sdp, OpusPayloadTypeOfTheOffer) {
  EXPECT_EQ(opus_payload_type(offer("a=rtpmap:0 PCMU/8000\r\na=rtpmap:111 opus/48000/2\r\n")), 111);
  EXPECT_EQ(opus_payload_type(offer("a=rtpmap:96 OPUS/48000/2\r\n")), 96);
  EXPECT_FALSE(opus_payload_type(offer("a=rtpmap:9 G722/8000\r\n")));
  EXPECT_FALSE(opus_payload_type(offer("a=rtpmap:999 opus/48000/2\r\n")));
  EXPECT_FALSE(opus_payload_type("not sdp at all"));
  EXPECT_FALSE(opus_payload_type(""));
}

std::string hex32(const std::string& pair) {
  std::string out;
  for (int i = 0; i < 32; ++i) out += (i ? ":" : "") + pair;
  return out;
}

TEST(Sdp, DtlsFingerprintNormalized) {
  std::string fp = hex32("ab");
  EXPECT_EQ(dtls_fingerprint(offer("a=fingerprint:SHA-256 " + fp + "\r\n")),
            "sha-256 " + hex32("AB"));
  // Session level wins over media level.
  std::string both = "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=fingerprint:sha-256 " +
                     hex32("01") + "\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=fingerprint:sha-256 " +
                     hex32("02") + "\r\n";
  EXPECT_EQ(dtls_fingerprint(both), "sha-256 " + hex32("01"));
  EXPECT_FALSE(dtls_fingerprint(offer("a=rtpmap:111 opus/48000/2\r\n")));
  EXPECT_FALSE(dtls_fingerprint(offer("a=fingerprint:sha-256 AB:CD\r\n")));  // too short
  EXPECT_FALSE(dtls_fingerprint(offer("a=fingerprint:sha-256 " + hex32("zz") + "\r\n")));
  EXPECT_FALSE(dtls_fingerprint(offer("a=fingerprint:" + fp + "\r\n")));  // no hash function
  EXPECT_FALSE(dtls_fingerprint("garbage"));
}

TEST(Sdp, SecurityCodeIsTheSameOnBothSidesAndDiffersWhenSwapped) {
  // The vector: computed independently (Python hashlib) from docs/protocol.md's definition.
  std::string a = "sha-256 " + hex32("AB"), b = "sha-256 " + hex32("01");
  EXPECT_EQ(security_code_of(a, b), "263 311");
  EXPECT_EQ(security_code_of(b, a), "263 311");
  std::string alice = offer("a=fingerprint:sha-256 " + hex32("ab") + "\r\n");
  std::string bob = offer("a=fingerprint:sha-256 " + hex32("01") + "\r\n");
  EXPECT_EQ(security_code(alice, bob), "263 311");
  EXPECT_EQ(security_code(bob, alice), "263 311");
  // A man in the middle: each side sees the attacker's fingerprint instead of the other's.
  std::string mallory = offer("a=fingerprint:sha-256 " + hex32("77") + "\r\n");
  EXPECT_NE(security_code(alice, mallory), security_code(bob, mallory));
  EXPECT_FALSE(security_code(alice, "v=0"));
}

// Two sections with mids that are neither "0" nor "audio0" (as a strict peer may choose).
const std::string kTwoSections =
    "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:voice\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:7\r\n";

TEST(Sdp, MediaMidsInOrder) {
  EXPECT_EQ(media_mids(kTwoSections), (std::vector<std::string>{"voice", "7"}));
  EXPECT_EQ(media_mids(offer("")), (std::vector<std::string>{"0"}));
  EXPECT_TRUE(media_mids("not sdp at all").empty());
}

// Received candidates, W3C addIceCandidate rules: the mid decides when present; the index only
// without one; nothing that matches no section is applied.
TEST(Sdp, ReceivedCandidatesFindTheirSectionByMidThenIndex) {
  auto mids = media_mids(kTwoSections);
  EXPECT_EQ(candidate_target("voice", 1, mids).mline, 0u);  // the mid wins over the index
  EXPECT_EQ(candidate_target("7", std::nullopt, mids).mline, 1u);
  EXPECT_EQ(candidate_target(std::nullopt, 1, mids).mline, 1u);
  auto stale = candidate_target("0", 0, mids);  // "0" is an index, not this peer's mid
  EXPECT_FALSE(stale.mline);
  EXPECT_EQ(stale.why, "no media section with mid '0'");
  EXPECT_FALSE(candidate_target(std::nullopt, 2, mids).mline);
  EXPECT_FALSE(candidate_target(std::nullopt, -1, mids).mline);
  EXPECT_EQ(candidate_target(std::nullopt, std::nullopt, mids).why,
            "neither sdpMid nor sdpMLineIndex");
  EXPECT_FALSE(candidate_target(std::nullopt, 0, {}).mline);  // no description yet
  EXPECT_FALSE(candidate_target("", 0, {""}).mline);          // an empty mid names nothing
}

// Local candidates carry the mid of their section in our own description, which is the one the
// other side holds as its remote description.
TEST(Sdp, LocalCandidatesCarryTheirSectionsMid) {
  auto mids = media_mids(kTwoSections);
  EXPECT_EQ(candidate_mid(0, mids), "voice");
  EXPECT_EQ(candidate_mid(1, mids), "7");
  EXPECT_EQ(candidate_mid(0, media_mids(offer(""))), "0");
  // The round trip: what one side sends, the other side maps back to the same section.
  for (unsigned m = 0; m < mids.size(); ++m)
    EXPECT_EQ(candidate_target(candidate_mid(m, mids), m, mids).mline, m);
}

TEST(AudioSpecs, InputsAndOutputs) {
  for (const char* ok : {"device", "device:alsa_input.usb", "tone:440", "ticks:500", "silence"})
    EXPECT_FALSE(check_input_spec(ok)) << ok;
  for (const char* bad : {"tone:5", "tone:abc", "ticks:1", "kazoo", "file:/nonexistent.wav",
                          "device:a\"b", "/nonexistent.wav"})
    EXPECT_TRUE(check_input_spec(bad)) << bad;
  for (const char* ok : {"device", "none", "out.wav", "file:/tmp/x", "device:sink"})
    EXPECT_FALSE(check_output_spec(ok)) << ok;
  for (const char* bad : {"speaker", "file:", "a\".wav"})
    EXPECT_TRUE(check_output_spec(bad)) << bad;
}

}  // namespace
}  // namespace dialtone::media

namespace dialtone::media {
namespace {

TEST(Sdp, SessionIdIsTheOriginLinesSecondField) {
  EXPECT_EQ(session_id("v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"),
            "4611731400430051336");
  EXPECT_EQ(session_id("v=0\r\ns=-\r\nt=0 0\r\n"), "");
  EXPECT_EQ(session_id("not sdp"), "");
}

}  // namespace
}  // namespace dialtone::media
