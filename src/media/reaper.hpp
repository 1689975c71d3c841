// SPDX-License-Identifier: Apache-2.0
// Tearing a pipeline down takes time (a TURN allocation to release, streaming threads to join);
// the SDK thread must not wait for it. retire() does it on a thread of its own; wait_retired()
// waits for all of it, each thread joined — its thread-local destructors included — before exit:
// those threads must not outlive OpenSSL or GStreamer.
#pragma once

#include <chrono>
#include <functional>

namespace dialtone::media {

void retire(std::function<void()> work);
// true when everything retired has finished within `limit`.
bool wait_retired(std::chrono::milliseconds limit = std::chrono::milliseconds(3000));

}  // namespace dialtone::media
