// SPDX-License-Identifier: Apache-2.0
// What a recording holds: WAV reading and the dominant frequency, for media tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dialtone::test {

struct Pcm {
  int rate = 0;
  int channels = 0;
  std::vector<std::int16_t> samples;  // interleaved
  double seconds() const { return rate ? double(samples.size()) / channels / rate : 0; }
};

// Reads a 16-bit PCM WAV file; throws on anything else.
Pcm read_wav(const std::string& path);
// Writes mono 16-bit PCM.
void write_wav(const std::string& path, int rate, const std::vector<std::int16_t>& samples);
// Power at `hz` over samples [begin, end) of channel 0 (Goertzel).
double power_at(const Pcm& pcm, double hz, std::size_t begin, std::size_t end);
// The strongest frequency between lo and hi Hz (step Hz) over the whole recording.
double dominant_frequency(const Pcm& pcm, double lo = 100, double hi = 2000, double step = 10);
// RMS of channel 0 over [begin, end) samples (0..32768).
double rms(const Pcm& pcm, std::size_t begin, std::size_t end);
// Where sound starts after quiet (e.g. the clicks of a `ticks:MS` input), in seconds from the
// start: 5 ms windows of channel 0 whose RMS crosses `threshold` upwards.
std::vector<double> onsets(const Pcm& pcm, double threshold);

}  // namespace dialtone::test
