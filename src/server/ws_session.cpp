// SPDX-License-Identifier: Apache-2.0
#include "server/ws_session.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>

#include <array>

#include "core/request.hpp"

namespace dialtone {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
using asio::use_awaitable;

template <class Stream>
WsSession<Stream>::WsSession(ServerContext& ctx, Stream stream, Peer peer, Principal who,
                             std::string deviceId, std::shared_ptr<void> keep)
    : ctx_(ctx),
      ws_(std::move(stream)),
      keep_(std::move(keep)),
      messages_(ctx.limits.messagesPerS, 2.0 * ctx.limits.messagesPerS, now_ms()),
      peer_(std::move(peer)),
      who_(std::move(who)),
      device_(std::move(deviceId)),
      wake_(ws_.get_executor()) {
  ctx_.metrics.ws_sessions++;
  set_expiry(who_.expiresAt, now_ms());
}

// token_expiring goes token_expiring_lead_s before the expiry, or halfway through what is left
// of the token's life when that is shorter (a 10 s token with a 60 s lead is not renewed in a
// loop). A token accepted only thanks to the clock-skew leeway (already past its exp by our clock)
// gets kSkewedTokenMs to be renewed in.
template <class Stream>
void WsSession<Stream>::set_expiry(TimeMs exp, TimeMs now) {
  expires_ = exp > now ? exp : now + kSkewedTokenMs;
  TimeMs lead = std::min<TimeMs>(ctx_.config.token_expiring_lead_s * 1000LL, (expires_ - now) / 2);
  warn_at_ = expires_ - lead;
  warned_ = false;
}

template <class Stream>
WsSession<Stream>::~WsSession() {
  ctx_.metrics.ws_sessions--;
}

template <class Stream>
asio::awaitable<void> WsSession<Stream>::run(HttpRequest upgrade) {
  auto self = shared_from_this();
  beast::get_lowest_layer(ws_).expires_never();
  websocket::stream_base::timeout opt{};
  opt.handshake_timeout = std::chrono::seconds(10);
  opt.idle_timeout = websocket::stream_base::none();  // our own pings (two missed pongs)
  opt.keep_alive_pings = false;
  ws_.set_option(opt);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(beast::http::field::server, "dialtoned"); }));
  // No limit in Beast: a message over kHardMessageLimit is refused by the read loop below,
  // which closes with 1009 itself (Beast's own refusal tears the socket down at once, with the
  // rest of the message unread: the kernel then answers with a reset that can destroy the
  // close frame, and the peer sees no 1009).
  ws_.read_message_max(0);
  ws_.write_buffer_bytes(512);  // unmasked server frames are written from our buffers directly
  ws_.auto_fragment(false);
  ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::pong) missed_pongs_ = 0;
  });

  auto [ec] = co_await ws_.async_accept(upgrade, asio::as_tuple(use_awaitable));
  upgrade = HttpRequest{};  // the frame lives as long as the session
  if (ec) co_return;

  json::object hello{{"type", "hello"},
                     {"userId", who_.userId},
                     {"deviceId", device_},
                     {"serverTime", format_iso(now_ms())}};
  ctx_.hub.join(self, std::make_shared<const std::string>(json::serialize(hello)));
  asio::co_spawn(ws_.get_executor(), writer(), asio::detached);

  beast::flat_buffer buffer;
  for (bool reading = true; reading;) {
    // One message, in pieces, so that its size is checked as it arrives.
    do {
      auto [rec, n] =
          co_await ws_.async_read_some(buffer, kReadChunk, asio::as_tuple(use_awaitable));
      if (rec) {
        if (rec != websocket::error::closed && rec != asio::error::operation_aborted &&
            rec != beast::error::timeout)
          spdlog::debug("WS_READ_END user={} device={} error=\"{}\"", who_.userId, device_,
                        rec.message());
        reading = false;
        break;
      }
      if (buffer.size() > kHardMessageLimit) {
        // Far beyond the limit: 1009. The writer's close handshake reads (and drops) the rest
        // of the message until the peer's close frame, so nothing is left unread when the
        // socket closes.
        close(websocket::close_code::too_big);
        reading = false;
        break;
      }
    } while (!ws_.is_message_done());
    if (!reading) break;
    missed_pongs_ = 0;
    if (!ws_.got_text()) {
      reply(nullptr, OpResult::fail(ErrorCode::bad_request, "messages must be text (JSON)"));
    } else {
      auto data = buffer.cdata();
      handle(std::string_view(static_cast<const char*>(data.data()), data.size()));
    }
    buffer.consume(buffer.size());
    if (buffer.capacity() > 2 * kReadChunk) buffer.shrink_to_fit();  // after a big message
  }
  read_done_ = true;
  closing_ = true;  // the peer closed or vanished, or broke the protocol
  wake_.cancel();
  ctx_.hub.leave(this);
}

template <class Stream>
void WsSession<Stream>::handle(std::string_view text) {
  if (expired(now_ms())) {
    // The writer closes the session at expiry; nothing is done on an expired token meanwhile.
    reply(try_extract_id(text), OpResult::fail(ErrorCode::unauthorized, "token expired"));
    close(kCloseTokenExpired, "token expired");
    return;
  }
  if (text.size() > kMaxMessageBytes) {
    reply(try_extract_id(text),
          OpResult::fail(ErrorCode::payload_too_large, "message over 64 KiB"));
    return;
  }
  if (ctx_.limits.messagesPerS > 0) {
    if (TimeMs wait = messages_.take(now_ms())) {
      ctx_.metrics.count_limited("messages");
      OpResult r = OpResult::fail(ErrorCode::rate_limited, "too many messages; slow down");
      r.retryAfterSeconds = retry_seconds(wait);
      reply(try_extract_id(text), r);
      return;
    }
  }
  Request req;
  try {
    req = parse_ws_request(text);
    if (req.op == Op::create) limit_call_attempts(ctx_, who_.userId);
    if (req.op == Op::report) limit_reports(ctx_, who_.userId, device_);
  } catch (const Error& e) {
    OpResult r = OpResult::fail(e.code(), e.what());
    r.retryAfterSeconds = e.retry_after_seconds();
    reply(req.id.is_null() ? try_extract_id(text) : req.id, r);
    return;
  }
  if (req.op == Op::auth) {
    renew(req.id, req.token);
    return;
  }
  if (auto now = ctx_.calls.signal_now(who_, device_, req)) {
    reply(req.id, *now);
    return;
  }
  auto self = shared_from_this();
  json::value id = req.id;
  ctx_.calls.run(
      ctx_.calls.op(who_, device_, std::move(req)), [self, id = std::move(id)](OpResult r) {
        asio::post(self->ws_.get_executor(), [self, id, r = std::move(r)] { self->reply(id, r); });
      });
}

template <class Stream>
void WsSession<Stream>::reply(const json::value& id, const OpResult& r) {
  // {"type":"reply","id":…,"ok":…,["error":…,]["call":…,]"serverTime":"…"}, with the document
  // the call service already serialized spliced in rather than serialized again.
  std::string m = R"({"type":"reply","id":)";
  m += json::serialize(id);
  if (r.error == ErrorCode::ok) {
    m += R"(,"ok":true)";
  } else {
    m += R"(,"ok":false,"error":)";
    json::object error{{"code", error_name(r.error)}, {"message", r.message}};
    if (r.retryAfterSeconds > 0) error["retryAfterSeconds"] = r.retryAfterSeconds;
    m += json::serialize(error);
  }
  if (r.call) {
    m += R"(,"call":)";
    m += r.doc ? *r.doc : to_public_string(*r.call);
  }
  m += R"(,"serverTime":")";
  m += format_iso(now_ms());
  m += "\"}";
  enqueue(std::make_shared<const std::string>(std::move(m)));
}

// op auth: a fresh token for the same user extends the session in place. Anything else (another
// user, a bad signature, an expired token) is refused and changes nothing; failures count
// towards the address's sign-in failure limit as at connect.
template <class Stream>
void WsSession<Stream>::renew(const json::value& id, const std::string& token) {
  auto self = shared_from_this();
  asio::co_spawn(
      ws_.get_executor(),
      [self, id, token]() -> asio::awaitable<void> {
        Principal p;
        try {
          p = co_await authenticate(self->ctx_, token, self->peer_);
        } catch (const Error& e) {
          OpResult r = OpResult::fail(e.code(), e.what());
          r.retryAfterSeconds = e.retry_after_seconds();
          self->reply(id, r);
          co_return;
        }
        self->renewed(id, std::move(p));
      },
      asio::detached);
}

template <class Stream>
void WsSession<Stream>::renewed(const json::value& id, Principal p) {
  if (closing_) return;
  if (p.userId != who_.userId) {
    reply(id, OpResult::fail(ErrorCode::forbidden,
                             "the token is for another user; this session stays " + who_.userId +
                                 "'s (open a new connection to change user)"));
    return;
  }
  TimeMs now = now_ms();
  set_expiry(p.expiresAt, now);
  who_ = std::move(p);
  ctx_.calls.touch_user(who_);  // the token may carry a new name or photo
  wake_.cancel();               // the writer waits for the new deadlines
  spdlog::debug("WS_TOKEN_RENEWED user={} device={} expiresAt={}", who_.userId, device_,
                format_iso(expires_));
  std::string m = R"({"type":"reply","id":)";
  m += json::serialize(id);
  m += R"(,"ok":true,"expiresAt":")";
  m += format_iso(expires_);
  m += R"(","serverTime":")";
  m += format_iso(now);
  m += "\"}";
  enqueue(std::make_shared<const std::string>(std::move(m)));
}

template <class Stream>
void WsSession<Stream>::deliver(Message msg) {
  asio::post(ws_.get_executor(), [self = shared_from_this(), msg = std::move(msg)]() mutable {
    self->enqueue(std::move(msg));
  });
}

template <class Stream>
void WsSession<Stream>::shutdown() {
  asio::post(ws_.get_executor(),
             [self = shared_from_this()] { self->close(websocket::close_code::going_away); });
}

template <class Stream>
void WsSession<Stream>::enqueue(Message msg) {
  if (closing_) return;
  std::size_t queued = queue_.size() - queue_head_;
  if (queued >= kMaxQueued) {
    spdlog::warn("WS_SLOW_CONSUMER user={} device={} queued={}", who_.userId, device_, queued);
    close(websocket::close_code::policy_error);
    return;
  }
  queue_.push_back(std::move(msg));
  if (queued == 0) wake_.cancel();
}

template <class Stream>
void WsSession<Stream>::close(std::uint16_t code, const char* reason) {
  if (closing_) return;
  closing_ = true;
  close_code_ = code;
  close_text_ = reason;
  queue_.clear();
  queue_head_ = 0;
  wake_.cancel();
}

// The one writer: messages in order, a ping every ping_interval_s (two unanswered pings close
// the connection), and the close frame.
template <class Stream>
asio::awaitable<void> WsSession<Stream>::writer() {
  auto self = shared_from_this();
  const auto interval = std::chrono::seconds(ctx_.config.ping_interval_s);
  next_ping_ = std::chrono::steady_clock::now() + interval;
  ws_.text(true);
  for (;;) {
    if (closing_) {
      if (close_code_)
        co_await ws_.async_close(
            websocket::close_reason(static_cast<websocket::close_code>(close_code_), close_text_),
            asio::as_tuple(use_awaitable));
      if (read_done_) co_await linger();
      beast::get_lowest_layer(ws_).close();
      co_return;
    }
    if (TimeMs now = now_ms(); now >= next_token_event()) {
      if (warned_) {
        spdlog::info("WS_TOKEN_EXPIRED user={} device={}", who_.userId, device_);
        close(kCloseTokenExpired, "token expired");
      } else {
        warned_ = true;
        std::string m = R"({"type":"token_expiring","expiresAt":")";
        m += format_iso(expires_);
        m += R"(","serverTime":")";
        m += format_iso(now);
        m += "\"}";
        enqueue(std::make_shared<const std::string>(std::move(m)));
      }
      continue;
    }
    if (std::chrono::steady_clock::now() >= next_ping_) {
      next_ping_ += interval;
      if (missed_pongs_ >= 2) {
        // The peer is gone: no close handshake, just drop the connection.
        spdlog::info("WS_PONG_TIMEOUT user={} device={}", who_.userId, device_);
        closing_ = true;
        continue;
      }
      ++missed_pongs_;
      auto [ec] = co_await ws_.async_ping({}, asio::as_tuple(use_awaitable));
      if (ec) closing_ = true;
      continue;
    }
    if (queue_head_ == queue_.size()) {
      queue_.clear();
      queue_head_ = 0;
      if (queue_.capacity() > 64) queue_.shrink_to_fit();  // after a burst
      // The token's deadlines are wall-clock times; the timer runs on the steady clock.
      auto token = std::chrono::steady_clock::now() +
                   std::chrono::milliseconds(std::max<TimeMs>(0, next_token_event() - now_ms()));
      wake_.expires_at(std::min(next_ping_, token));
      co_await wake_.async_wait(asio::as_tuple(use_awaitable));
      continue;
    }
    Message msg = queue_[queue_head_];
    auto [ec, n] = co_await ws_.async_write(asio::buffer(*msg), asio::as_tuple(use_awaitable));
    if (ec)
      closing_ = true;
    else if (queue_head_ < queue_.size())
      queue_[queue_head_++].reset();
  }
}

// Closing a socket with unread input makes the kernel send a reset, which can destroy the
// close frame (e.g. 1009) before the peer reads it. So: stop sending, and drain what the peer
// still sends for up to a second.
template <class Stream>
asio::awaitable<void> WsSession<Stream>::linger() {
  auto& tcp = beast::get_lowest_layer(ws_);
  beast::error_code ignored;
  tcp.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  tcp.expires_after(std::chrono::seconds(1));
  std::array<char, 2048> scratch;  // discarded
  for (;;) {
    auto [ec, n] =
        co_await tcp.async_read_some(asio::buffer(scratch), asio::as_tuple(use_awaitable));
    if (ec) break;
  }
}

template class WsSession<beast::tcp_stream>;
template class WsSession<beast::ssl_stream<beast::tcp_stream>>;

}  // namespace dialtone
