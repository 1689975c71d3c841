// SPDX-License-Identifier: Apache-2.0
#include "media/audio_out.hpp"

#include <gst/app/gstappsrc.h>
#include <openssl/crypto.h>

#include <future>
#include <mutex>
#include <thread>
#include <tuple>

#include "core/errors.hpp"

namespace dialtone::media {

namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool starts_with(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}
// Paths and device names go into a gst-launch description between quotes.
bool safe_text(const std::string& s) {
  return !s.empty() && s.find_first_of("\"\\\n\r") == std::string::npos;
}

std::string sink_description(const std::string& spec, bool& file) {
  file = false;
  if (spec == "none") return "fakesink sync=false";
  if (spec == "device") return "autoaudiosink";
  if (starts_with(spec, "device:")) return "pulsesink device=\"" + spec.substr(7) + "\"";
  std::string path = starts_with(spec, "file:") ? spec.substr(5) : spec;
  file = true;
  return "wavenc ! filesink name=file location=\"" + path + "\"";
}

}  // namespace

std::optional<std::string> check_input_spec(const std::string& spec) {
  if (spec == "device" || spec == "silence") return std::nullopt;
  if (starts_with(spec, "device:"))
    return safe_text(spec.substr(7)) ? std::nullopt : std::optional<std::string>("bad device name");
  if (starts_with(spec, "tone:")) {
    try {
      size_t used = 0;
      double hz = std::stod(spec.substr(5), &used);
      if (used == spec.size() - 5 && hz >= 20 && hz <= 20000) return std::nullopt;
    } catch (...) {
    }
    return "tone:HZ needs a frequency of 20..20000 Hz";
  }
  if (starts_with(spec, "ticks:")) {
    try {
      size_t used = 0;
      int ms = std::stoi(spec.substr(6), &used);
      if (used == spec.size() - 6 && ms >= 20 && ms <= 10000) return std::nullopt;
    } catch (...) {
    }
    return "ticks:MS needs a period of 20..10000 ms";
  }
  std::string path = starts_with(spec, "file:") ? spec.substr(5) : spec;
  if (!ends_with(path, ".wav") && !starts_with(spec, "file:"))
    return "input must be tone:HZ, ticks:MS, file:PATH or a .wav path, silence, device or "
           "device:NAME";
  if (!safe_text(path)) return "bad file name";
  if (!g_file_test(path.c_str(), G_FILE_TEST_IS_REGULAR)) return "no such file '" + path + "'";
  return std::nullopt;
}

std::optional<std::string> check_output_spec(const std::string& spec) {
  if (spec == "device" || spec == "none") return std::nullopt;
  if (starts_with(spec, "device:"))
    return safe_text(spec.substr(7)) ? std::nullopt : std::optional<std::string>("bad device name");
  std::string path = starts_with(spec, "file:") ? spec.substr(5) : spec;
  if (!starts_with(spec, "file:") && !ends_with(path, ".wav"))
    return "output must be file:PATH or a .wav path, device, device:NAME or none";
  if (!safe_text(path)) return "bad file name";
  return std::nullopt;
}

namespace {
std::shared_future<void>& warmup() {
  // OpenSSL first, so that its exit handler is registered before this future and runs after
  // the future's destructor has waited for the certificate thread.
  OPENSSL_init_crypto(0, nullptr);
  static std::shared_future<void> f =
      std::async(std::launch::async, [] {
        // webrtcbin generates one DTLS certificate per process on first use; do it now, off the
        // call path (a dtlsdec's `pem` is that shared certificate).
        if (GstElement* dec = gst_element_factory_make("dtlsdec", nullptr)) {
          gchar* pem = nullptr;
          g_object_get(dec, "pem", &pem, nullptr);
          g_free(pem);
          gst_object_unref(dec);
        }
      }).share();
  return f;
}
}  // namespace

void ensure_gstreamer() {
  static std::once_flag once;
  std::call_once(once, [] {
    gst_init(nullptr, nullptr);
    warmup();
  });
}

void wait_for_warmup() {
  ensure_gstreamer();
  warmup().wait();
}

std::pair<GstElement*, GstElement*> AudioOut::open(const std::string& output, bool& file) {
  ensure_gstreamer();
  if (auto bad = check_output_spec(output)) throw Error(ErrorCode::bad_request, *bad);
  std::string desc =
      "appsrc name=src is-live=true format=time do-timestamp=true "
      "caps=audio/x-raw,format=S16LE,rate=48000,channels=1,layout=interleaved ! queue ! "
      "audioconvert ! audioresample ! " +
      sink_description(output, file);
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(desc.c_str(), &err);
  if (err) {
    std::string msg = err->message;
    g_error_free(err);
    if (pipeline) gst_object_unref(pipeline);
    throw Error(ErrorCode::media_device, "audio output '" + output + "': " + msg);
  }
  GstElement* src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(src);
    gst_object_unref(pipeline);
    throw Error(ErrorCode::media_device, "cannot open the audio output '" + output + "'");
  }
  return {pipeline, src};
}

void AudioOut::finish(GstElement* pipeline, GstElement* src, bool file) {
  if (!pipeline) return;
  if (file) {
    // wavenc rewrites its header on EOS; wait for the EOS to reach the end of the pipeline.
    gst_app_src_end_of_stream(GST_APP_SRC(src));
    GstBus* bus = gst_element_get_bus(pipeline);
    GstMessage* msg = gst_bus_timed_pop_filtered(
        bus, 2 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    if (msg) gst_message_unref(msg);
    gst_object_unref(bus);
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(src);
  gst_object_unref(pipeline);
}

AudioOut::AudioOut(const std::string& output, Tap tap) : tap_(std::move(tap)) {
  std::tie(pipeline_, src_) = open(output, file_);
}

AudioOut::~AudioOut() {
  close();
}

void AudioOut::reopen(const std::string& output) {
  bool file = false;
  auto [pipeline, src] = open(output, file);
  {
    std::lock_guard lock(mu_);
    std::swap(pipeline, pipeline_);
    std::swap(src, src_);
    std::swap(file, file_);
  }
  finish(pipeline, src, file);
}

void AudioOut::push(GstBuffer* buffer) {
  if (tap_) {
    GstMapInfo map;
    if (gst_buffer_map(buffer, &map, GST_MAP_READ)) {
      tap_(reinterpret_cast<const std::int16_t*>(map.data), map.size / 2);
      gst_buffer_unmap(buffer, &map);
    }
  }
  std::lock_guard lock(mu_);
  if (!src_) return;
  // Timestamps restart with every transport; let the appsrc stamp arrival time instead.
  GstBuffer* copy = gst_buffer_copy(buffer);
  GST_BUFFER_PTS(copy) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DTS(copy) = GST_CLOCK_TIME_NONE;
  gst_app_src_push_buffer(GST_APP_SRC(src_), copy);
}

void AudioOut::close() {
  GstElement *pipeline = nullptr, *src = nullptr;
  bool file = false;
  {
    std::lock_guard lock(mu_);
    std::swap(pipeline, pipeline_);
    std::swap(src, src_);
    file = file_;
  }
  finish(pipeline, src, file);
}

}  // namespace dialtone::media
