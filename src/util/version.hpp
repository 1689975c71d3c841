// SPDX-License-Identifier: Apache-2.0
// The one version string, from CMake's project(VERSION) (configured into version.cpp).
#pragma once

#include <string_view>

namespace dialtone {

std::string_view version();

}  // namespace dialtone
