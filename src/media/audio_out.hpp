// SPDX-License-Identifier: Apache-2.0
// Where a call's received audio goes, for the whole call: the default output device, a PulseAudio
// sink, a WAV file, or nowhere. It outlives the transports (recovery swaps the transport, not the
// recording), which feed it decoded 48 kHz mono S16 audio from their streaming threads.
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include <dialtone/types.hpp>

namespace dialtone::media {

class AudioOut {
 public:
  // Called on a GStreamer streaming thread for every decoded buffer (benchmarks, tests).
  using Tap = std::function<void(const std::int16_t* samples, std::size_t count)>;

  // "device", "device:NAME", "file:PATH" or a path ending in .wav, "none".
  // Throws Error(media_device) when the output cannot be opened.
  explicit AudioOut(const std::string& output, Tap tap = {});
  ~AudioOut();
  AudioOut(const AudioOut&) = delete;

  // Switches to another output mid-call (e.g. speaker to headset); on failure keeps the old one
  // and throws Error(media_device).
  void reopen(const std::string& output);
  // Thread-safe; takes a reference of its own.
  void push(GstBuffer* buffer);
  // Flushes and closes (a WAV file gets its final header). Idempotent.
  void close();

 private:
  static std::pair<GstElement*, GstElement*> open(const std::string& output, bool& file);
  static void finish(GstElement* pipeline, GstElement* src, bool file);
  std::mutex mu_;
  GstElement* pipeline_ = nullptr;
  GstElement* src_ = nullptr;
  bool file_ = false;
  Tap tap_;
};

// Accepted input and output specs; nullopt when fine, else what is wrong.
std::optional<std::string> check_input_spec(const std::string& spec);
std::optional<std::string> check_output_spec(const std::string& spec);

// gst_init once, and the DTLS certificate generated ahead of the first call (70-600 ms).
void ensure_gstreamer();
// Waits until that certificate exists (before exit: the generating thread must not outlive
// OpenSSL).
void wait_for_warmup();

}  // namespace dialtone::media
