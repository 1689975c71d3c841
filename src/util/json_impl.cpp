// SPDX-License-Identifier: Apache-2.0
// Boost.JSON and Boost.URL in header-only mode: their implementations are compiled once, here.
#include <boost/json/src.hpp>
#include <boost/url/src.hpp>
