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
