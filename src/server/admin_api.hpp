// SPDX-License-Identifier: Apache-2.0
// The operators' API: any call's timeline, and calls searched by user and time, behind the
// operator token of the configuration (admin_token) — never a user's token.
//
//   GET /v1/admin/calls?user=&from=&to=&limit=   → {"calls": [call + "summary", …]}
//   GET /v1/admin/calls/{id}/timeline             → {"call", "timeline", "summary"}
#pragma once

#include <boost/url/url_view.hpp>

#include <string>
#include <vector>

#include "server/calls/calls.hpp"
#include "server/http_api.hpp"

namespace dialtone {

// The store job for an operator's request (seg[1] == "admin"), or nullptr when no endpoint
// matches. Throws Error: unauthorized for a missing or wrong token (counted per address like a
// failed sign-in), forbidden when no operator token is configured, bad_request for bad
// parameters.
Calls::Job admin_job(ServerContext& ctx, const HttpRequest& req, const Peer& peer,
                     const boost::urls::url_view& url, const std::vector<std::string>& seg);

}  // namespace dialtone
