// SPDX-License-Identifier: Apache-2.0
#include "support/audio_analysis.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace dialtone::test {

namespace {
std::uint32_t u32(const char* p) {
  return std::uint8_t(p[0]) | std::uint8_t(p[1]) << 8 | std::uint8_t(p[2]) << 16 |
         std::uint32_t(std::uint8_t(p[3])) << 24;
}
std::uint16_t u16(const char* p) {
  return std::uint16_t(std::uint8_t(p[0]) | std::uint8_t(p[1]) << 8);
}
}  // namespace

// A RIFF walk of a few lines: test code only, reading what wavenc wrote.
Pcm read_wav(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (data.size() < 12 || data.compare(0, 4, "RIFF") != 0 || data.compare(8, 4, "WAVE") != 0)
    throw std::runtime_error(path + ": not a WAV file");
  Pcm pcm;
  size_t pos = 12;
  while (pos + 8 <= data.size()) {
    std::string id = data.substr(pos, 4);
    std::uint32_t len = u32(&data[pos + 4]);
    size_t body = pos + 8;
    if (id == "fmt " && body + 16 <= data.size()) {
      if (u16(&data[body]) != 1 || u16(&data[body + 14]) != 16)
        throw std::runtime_error(path + ": not 16-bit PCM");
      pcm.channels = u16(&data[body + 2]);
      pcm.rate = static_cast<int>(u32(&data[body + 4]));
    } else if (id == "data") {
      size_t n = std::min<size_t>(len, data.size() - body) / 2;
      pcm.samples.resize(n);
      std::memcpy(pcm.samples.data(), &data[body], n * 2);
    }
    pos = body + len + (len & 1);
  }
  if (!pcm.rate || !pcm.channels) throw std::runtime_error(path + ": no fmt chunk");
  return pcm;
}

void write_wav(const std::string& path, int rate, const std::vector<std::int16_t>& s) {
  std::ofstream f(path, std::ios::binary);
  auto w32 = [&](std::uint32_t v) { f.write(reinterpret_cast<const char*>(&v), 4); };
  auto w16 = [&](std::uint16_t v) { f.write(reinterpret_cast<const char*>(&v), 2); };
  std::uint32_t bytes = static_cast<std::uint32_t>(s.size() * 2);
  f.write("RIFF", 4);
  w32(36 + bytes);
  f.write("WAVEfmt ", 8);
  w32(16);
  w16(1);
  w16(1);
  w32(static_cast<std::uint32_t>(rate));
  w32(static_cast<std::uint32_t>(rate * 2));
  w16(2);
  w16(16);
  f.write("data", 4);
  w32(bytes);
  f.write(reinterpret_cast<const char*>(s.data()), bytes);
}

double power_at(const Pcm& pcm, double hz, size_t begin, size_t end) {
  const double w = 2 * M_PI * hz / pcm.rate, coeff = 2 * std::cos(w);
  double s1 = 0, s2 = 0;
  size_t frames = pcm.samples.size() / pcm.channels;
  end = std::min(end, frames);
  for (size_t i = begin; i < end; ++i) {
    double s0 = pcm.samples[i * pcm.channels] / 32768.0 + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

double dominant_frequency(const Pcm& pcm, double lo, double hi, double step) {
  double best = 0, bestHz = 0;
  size_t frames = pcm.samples.size() / pcm.channels;
  for (double hz = lo; hz <= hi; hz += step) {
    double p = power_at(pcm, hz, 0, frames);
    if (p > best) best = p, bestHz = hz;
  }
  return bestHz;
}

double rms(const Pcm& pcm, size_t begin, size_t end) {
  size_t frames = pcm.samples.size() / pcm.channels;
  end = std::min(end, frames);
  if (begin >= end) return 0;
  double sum = 0;
  for (size_t i = begin; i < end; ++i) {
    double v = pcm.samples[i * pcm.channels];
    sum += v * v;
  }
  return std::sqrt(sum / double(end - begin));
}

std::vector<double> onsets(const Pcm& pcm, double threshold) {
  std::vector<double> out;
  const size_t window = std::max(1, pcm.rate / 200);
  const size_t frames = pcm.samples.size() / std::max(1, pcm.channels);
  bool loud = false;
  for (size_t at = 0; at + window <= frames; at += window) {
    bool now = rms(pcm, at, at + window) >= threshold;
    if (now && !loud) out.push_back(double(at) / pcm.rate);
    loud = now;
  }
  return out;
}

}  // namespace dialtone::test
