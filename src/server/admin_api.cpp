// SPDX-License-Identifier: Apache-2.0
#include "server/admin_api.hpp"

#include <limits>

#include "core/request.hpp"
#include "core/time.hpp"
#include "server/calls/queries.hpp"
#include "util/crypto.hpp"

namespace dialtone {

namespace urls = boost::urls;

namespace {

std::optional<std::string> param(const urls::url_view& u, std::string_view key) {
  auto it = u.params().find(key);
  if (it == u.params().end()) return std::nullopt;
  return std::string((*it).value);
}

TimeMs time_param(const urls::url_view& u, std::string_view key, TimeMs otherwise) {
  auto v = param(u, key);
  if (!v) return otherwise;
  auto t = parse_iso(*v);
  if (!t) throw Error(ErrorCode::bad_request, std::string(key) + " must be an ISO-8601 UTC time");
  return *t;
}

// The operator token, checked in constant time; failures count against the address as failed
// sign-ins do, so the token cannot be guessed faster than a user's.
void check_operator(ServerContext& ctx, const HttpRequest& req, const Peer& peer) {
  TimeMs now = now_ms();
  if (TimeMs wait = ctx.limits.authFailures.wait(peer.address, now)) {
    ctx.metrics.count_limited("auth_failures");
    throw Error(ErrorCode::rate_limited,
                "too many failed sign-ins from this address; try again later",
                static_cast<int>((wait + 999) / 1000));
  }
  std::string expected = ctx.secrets.admin();
  if (expected.empty())
    throw Error(ErrorCode::forbidden,
                "the operator API is off: set admin_token or admin_token_file in the "
                "server's configuration");
  std::string token = bearer_token(req, false);
  if (token.empty() || !same_secret(token, expected)) {
    ctx.limits.authFailures.take(peer.address, now);
    throw Error(ErrorCode::unauthorized,
                token.empty() ? "the operator API needs Authorization: Bearer <admin token>"
                              : "not the operator token (a user's token is never accepted here)");
  }
}

}  // namespace

Calls::Job admin_job(ServerContext& ctx, const HttpRequest& req, const Peer& peer,
                     const urls::url_view& url, const std::vector<std::string>& seg) {
  check_operator(ctx, req, peer);
  if (req.method() != http::verb::get || seg.size() < 3 || seg[2] != "calls") return nullptr;
  SummaryLimits lim{ctx.config.ring_timeout_s * 1000, ctx.config.media_timeout_s * 1000,
                    ctx.config.presence_grace_s * 1000};
  if (seg.size() == 5 && seg[4] == "timeline") {
    if (!valid_id(seg[3])) throw Error(ErrorCode::not_found, "no such call");
    return [id = seg[3], lim](Tx& tx) { return queries::timeline(tx, "", id, lim); };
  }
  if (seg.size() != 3) return nullptr;
  std::string user;
  if (auto u = param(url, "user")) {
    if (!valid_id(*u)) throw Error(ErrorCode::bad_request, "user must be a user id");
    user = *u;
  }
  TimeMs from = time_param(url, "from", 0);
  TimeMs to = time_param(url, "to", std::numeric_limits<TimeMs>::max());
  if (from >= to) throw Error(ErrorCode::bad_request, "from must be before to");
  std::size_t limit = 50;
  if (auto l = param(url, "limit")) {
    std::size_t used = 0;
    long n = 0;
    try {
      n = std::stol(*l, &used);
    } catch (...) {
      used = 0;
    }
    if (used == 0 || used != l->size() || n < 1 || n > 200)
      throw Error(ErrorCode::bad_request, "limit must be an integer 1..200");
    limit = static_cast<std::size_t>(n);
  }
  return [user, from, to, limit, lim](Tx& tx) {
    return queries::search_calls(tx, user, from, to, limit, lim);
  };
}

}  // namespace dialtone
