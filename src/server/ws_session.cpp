// SPDX-License-Identifier: Apache-2.0
#include "server/ws_session.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>

#include <array>
#include <type_traits>

#include "core/request.hpp"
#include "server/calls/queries.hpp"

namespace dialtone {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
using asio::use_awaitable;

template <class Stream>
WsSession<Stream>::WsSession(ServerContext& ctx, Stream stream, Peer peer, Principal who,
                             std::string deviceId, std::shared_ptr<void> keep)
    : ctx_(ctx),
      stream_(std::move(stream)),
      parser_(kHardMessageLimit),
      keep_(std::move(keep)),
      messages_(ctx.limits.messagesPerS, 2.0 * ctx.limits.messagesPerS, now_ms()),
      peer_(std::move(peer)),
      who_(std::move(who)),
      device_(std::move(deviceId)),
      wake_(stream_.get_executor()) {
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

// The 101 answer, in a coroutine of its own: its frame (the answer, the timer) is gone once it
// is sent, while run()'s lives as long as a TLS session.
template <class Stream>
asio::awaitable<bool> WsSession<Stream>::accept(std::string acceptKey) {
  auto self = shared_from_this();
  std::string accepted =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " +
      acceptKey + "\r\nServer: dialtoned\r\n\r\n";
  asio::steady_timer guard(stream_.get_executor());  // a peer that reads nothing: 10 s
  guard.expires_after(std::chrono::seconds(10));
  guard.async_wait([self](beast::error_code ec) {
    if (!ec) self->socket().cancel(ec);
  });
  auto [ec, written] =
      co_await asio::async_write(stream_, asio::buffer(accepted), asio::as_tuple(use_awaitable));
  guard.cancel();
  co_return !ec;
}

template <class Stream>
void WsSession<Stream>::greet() {
  json::object hello{{"type", "hello"},
                     {"userId", who_.userId},
                     {"deviceId", device_},
                     {"serverTime", format_iso(now_ms())}};
  ctx_.hub.join(shared_from_this(), std::make_shared<const std::string>(json::serialize(hello)));
}

template <class Stream>
asio::awaitable<void> WsSession<Stream>::run(std::string acceptKey) {
  auto self = shared_from_this();
  if (!co_await accept(std::move(acceptKey))) co_return;
  if constexpr (kPlain) {
    beast::error_code ignored;
    stream_.non_blocking(true, ignored);  // the reader reads only what has arrived
  }
  greet();
  next_ping_ = std::chrono::steady_clock::now() + std::chrono::seconds(ctx_.config.ping_interval_s);
  kick();

  // After an error or the peer's close frame the parser takes nothing more, but the connection
  // is still read (and what arrives dropped) until it ends: closing a socket with unread input
  // makes the kernel send a reset, which can destroy the close frame before the peer reads it.
  if constexpr (kPlain) {
    // A chain of completions, not a coroutine: this one ends here, and an idle session holds
    // only its pending wait (no coroutine frame).
    wait_readable();
  } else {
    while (co_await receive()) on_frames();
    read_ended();
  }
}

template <class Stream>
void WsSession<Stream>::wait_readable() {
  if constexpr (kPlain) {
    stream_.async_wait(asio::ip::tcp::socket::wait_read,
                       [self = shared_from_this()](beast::error_code ec) {
                         if (ec || !self->read_available()) return self->read_ended();
                         self->on_frames();
                         self->wait_readable();
                       });
  }
}

template <class Stream>
void WsSession<Stream>::read_ended() {
  read_done_ = true;
  closing_ = true;  // the peer closed or vanished, or broke the protocol
  kick();
  ctx_.hub.leave(this);
}

// Plain TCP: reads what has arrived into the parser, with no buffer of the session's own (an
// idle session costs no read buffer); false at the end of the connection.
template <class Stream>
bool WsSession<Stream>::read_available() {
  if constexpr (kPlain) {
    thread_local std::array<char, kReadChunk> scratch;
    beast::error_code ec;
    std::size_t n = stream_.read_some(asio::buffer(scratch), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) return true;
    if (ec) return false;
    parser_.feed(std::string_view(scratch.data(), n));
  }
  return true;
}

template <class Stream>
asio::awaitable<bool> WsSession<Stream>::receive() {
  if (tlsBuffer_.empty()) tlsBuffer_.resize(kTlsChunk);
  auto [ec, n] =
      co_await stream_.async_read_some(asio::buffer(tlsBuffer_), asio::as_tuple(use_awaitable));
  if (ec) co_return false;
  parser_.feed(std::string_view(tlsBuffer_.data(), n));
  co_return true;
}

template <class Stream>
void WsSession<Stream>::on_frames() {
  for (ws::Event e = parser_.next(); e.kind != ws::Event::Kind::none; e = parser_.next()) {
    switch (e.kind) {
      case ws::Event::Kind::message:
        missed_pongs_ = 0;
        if (peer_closed_) break;  // nothing counts after the peer's close frame
        if (!e.text)
          reply(nullptr, OpResult::fail(ErrorCode::bad_request, "messages must be text (JSON)"));
        else
          handle(e.payload);
        break;
      case ws::Event::Kind::ping:
        pong_payload_.assign(e.payload);
        pong_due_ = true;
        kick();
        break;
      case ws::Event::Kind::pong:
        missed_pongs_ = 0;
        break;
      case ws::Event::Kind::close:
        // Answered with the same code (RFC 6455 §5.5.1); 1005 means none was given.
        peer_closed_ = true;
        close(e.code == ws::kCloseNoStatus ? ws::kCloseNormal : e.code);
        kick();
        break;
      case ws::Event::Kind::error:
        if (e.code != ws::kCloseTooBig)
          spdlog::debug("WS_PROTOCOL_ERROR user={} device={} error=\"{}\"", who_.userId, device_,
                        e.reason);
        // Failing the connection (RFC 6455 §7.1.7): our close frame, then no waiting for the
        // peer's, which the parser would not read anyway.
        failed_ = true;
        close(e.code, e.code == ws::kCloseTooBig ? "message too big" : e.reason);
        break;
      case ws::Event::Kind::none:
        break;
    }
  }
  if (parser_.buffered() == 0) parser_.shrink();
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
  if (req.op == Op::watch) {
    watch(req.id, std::move(req.userIds));
    return;
  }
  if (auto now = ctx_.calls.signal_now(who_, device_, req)) {
    reply(req.id, *now);
    return;
  }
  auto self = shared_from_this();
  json::value id = req.id;
  ctx_.calls.run(ctx_.calls.op(who_, device_, std::move(req)), [self,
                                                                id = std::move(id)](OpResult r) {
    asio::post(self->stream_.get_executor(), [self, id, r = std::move(r)] { self->reply(id, r); });
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
  // The session's own ops (auth, watch) answer with fields of their own.
  if (r.body && r.body->is_object())
    for (const auto& [k, v] : r.body->get_object()) {
      m += ',';
      m += json::serialize(json::string_view(k));
      m += ':';
      m += json::serialize(v);
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
      stream_.get_executor(),
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
  kick();                       // the writer's wake-up moves to the new deadlines
  spdlog::debug("WS_TOKEN_RENEWED user={} device={} expiresAt={}", who_.userId, device_,
                format_iso(expires_));
  OpResult r;
  r.body = json::object{{"expiresAt", format_iso(expires_)}};
  reply(id, r);
}

// op watch: of the users named, those this user may see (queries::visible) are watched
// (Hub::watch). The reply names them; a presence message with their status now follows it.
template <class Stream>
void WsSession<Stream>::watch(const json::value& id, std::vector<std::string> userIds) {
  auto self = shared_from_this();
  Calls::Job job = [viewer = who_.userId, ids = std::move(userIds),
                    policy = ctx_.config.directory_policy()](Tx& tx) {
    return queries::visible(tx, viewer, ids, policy);
  };
  ctx_.calls.run(std::move(job), [self, id](OpResult r) {
    asio::post(self->stream_.get_executor(), [self, id, r = std::move(r)] {
      if (self->closing_) return;
      if (r.error != ErrorCode::ok) return self->reply(id, r);
      std::vector<std::string> ids;
      for (const auto& u : r.body->at("userIds").as_array()) ids.emplace_back(u.as_string());
      self->reply(id, r);
      self->ctx_.hub.watch(self, ids);
    });
  });
}

template <class Stream>
void WsSession<Stream>::deliver(Message msg) {
  asio::post(stream_.get_executor(), [self = shared_from_this(), msg = std::move(msg)]() mutable {
    self->enqueue(std::move(msg));
  });
}

template <class Stream>
void WsSession<Stream>::shutdown() {
  asio::post(stream_.get_executor(),
             [self = shared_from_this()] { self->close(ws::kCloseGoingAway); });
}

template <class Stream>
void WsSession<Stream>::enqueue(Message msg) {
  if (closing_) return;
  std::size_t queued = queue_.size() - queue_head_;
  if (queued >= kMaxQueued) {
    spdlog::warn("WS_SLOW_CONSUMER user={} device={} queued={}", who_.userId, device_, queued);
    close(ws::kClosePolicy);
    return;
  }
  queue_.push_back(std::move(msg));
  if (queued > 0) return;  // the writer is on its way
  if (writing_) return kick();
  // The write starts from the strand's queue rather than at once: what else is already queued
  // there for this session (an op's reply right behind the call's snapshot) leaves in the same
  // write, one system call (and one wake-up of the peer) instead of two.
  if (write_posted_) return;
  write_posted_ = true;
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    self->write_posted_ = false;
    if (!self->writing_ && self->queue_.size() > self->queue_head_) self->kick();
  });
}

template <class Stream>
void WsSession<Stream>::kick() {
  if (writing_) {
    wake_.cancel();  // it looks again after its write (or stops waiting in the close handshake)
    return;
  }
  wake_.cancel();  // the idle wake-up is not needed: the writer arms it again when it is done
  write_next();
}

// No writer runs while there is nothing to write: a timer with a plain callback (no coroutine
// frame) starts one at the next ping or token deadline.
template <class Stream>
void WsSession<Stream>::sleep_until_due() {
  // The token's deadlines are wall-clock times; the timer runs on the steady clock.
  auto token = std::chrono::steady_clock::now() +
               std::chrono::milliseconds(std::max<TimeMs>(0, next_token_event() - now_ms()));
  wake_.expires_at(std::min(next_ping_, token));
  wake_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec) self->kick();
  });
}

template <class Stream>
void WsSession<Stream>::close(std::uint16_t code, std::string_view reason) {
  if (closing_) return;
  closing_ = true;
  close_code_ = code;
  close_text_.assign(reason);
  queue_.clear();
  queue_head_ = 0;
  kick();
}

// The one writer: messages in order — everything queued in one gathered write —, a ping every
// ping_interval_s (two unanswered pings close the connection), pongs, and the close frame. It
// is a chain of completion handlers, not a coroutine: nothing of it exists between writes.
template <class Stream>
void WsSession<Stream>::write_next() {
  const auto interval = std::chrono::seconds(ctx_.config.ping_interval_s);
  constexpr std::size_t kBatch = 30;  // messages per write: with a pong and a ping, 63 buffers
  // Set first: what this does may kick() again (a queued token_expiring, a close), which must
  // only make it look again, not write beside it.
  writing_ = true;
  for (;;) {
    if (closing_) {  // (writing_ stays set for good: the close handshake is the last write)
      asio::co_spawn(stream_.get_executor(), finish_close(), asio::detached);
      return;
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
      ping_due_ = true;
    }
    std::size_t queued = queue_.size() - queue_head_;
    if (queued == 0 && !ping_due_ && !pong_due_) {
      queue_.clear();
      queue_head_ = 0;
      if (queue_.capacity() > 64) queue_.shrink_to_fit();  // after a burst
      writing_ = false;
      sleep_until_due();
      return;
    }
    // Control frames first (they are small and may come between messages), then the messages;
    // the frames' headers and the buffer list live only as long as the write.
    std::size_t batch = std::min(queued, kBatch);
    auto out = std::make_unique<Outgoing>();
    out->headers.assign((batch + 2) * 10, '\0');
    out->buffers.reserve(2 * batch + 3);
    std::size_t frames = 0;
    auto add = [&](ws::Opcode op, std::string_view payload) {
      char h[10];
      std::size_t at = 10 * frames++, len = ws::frame_header(h, op, payload.size());
      out->headers.replace(at, len, h, len);
      out->buffers.emplace_back(out->headers.data() + at, len);
      if (!payload.empty()) out->buffers.emplace_back(payload.data(), payload.size());
    };
    if (pong_due_) {
      out->pong.swap(pong_payload_);
      pong_due_ = false;
      add(ws::Opcode::pong, out->pong);
    }
    if (ping_due_) {
      ping_due_ = false;
      add(ws::Opcode::ping, {});
    }
    for (std::size_t i = 0; i < batch; ++i) add(ws::Opcode::text, *queue_[queue_head_ + i]);
    auto& buffers = out->buffers;
    asio::async_write(stream_, buffers,
                      [self = shared_from_this(), out = std::move(out), batch](
                          beast::error_code ec, std::size_t) { self->written(ec, batch); });
    return;
  }
}

template <class Stream>
void WsSession<Stream>::written(beast::error_code ec, std::size_t batch) {
  if (ec) {
    closing_ = true;
    close_code_ = 0;  // the connection is broken: no close frame
  } else {
    // close() may have emptied the queue meanwhile.
    for (std::size_t i = 0; i < batch && queue_head_ < queue_.size(); ++i)
      queue_[queue_head_++].reset();
  }
  write_next();
}

// The close handshake (RFC 6455 §7): our close frame, the peer's (up to a second), then the
// server closes the TCP connection — after half-closing it and letting the reader drain what
// the peer still sends for up to a second (unread input would make the close a reset).
template <class Stream>
asio::awaitable<void> WsSession<Stream>::finish_close() {
  auto self = shared_from_this();
  if (close_code_ && !read_done_) {
    std::string f = ws::frame(ws::Opcode::close, ws::close_payload(close_code_, close_text_));
    asio::steady_timer guard(stream_.get_executor());  // a peer that reads nothing: 5 s
    guard.expires_after(std::chrono::seconds(5));
    guard.async_wait([self](beast::error_code ec) {
      if (!ec) self->socket().cancel(ec);
    });
    auto [ec, n] =
        co_await asio::async_write(stream_, asio::buffer(f), asio::as_tuple(use_awaitable));
    guard.cancel();
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (!ec && !peer_closed_ && !failed_ && !read_done_ &&
           std::chrono::steady_clock::now() < until) {
      wake_.expires_at(until);
      co_await wake_.async_wait(asio::as_tuple(use_awaitable));
    }
  }
  beast::error_code ignored;
  socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (!read_done_ && std::chrono::steady_clock::now() < until) {
    wake_.expires_at(until);
    co_await wake_.async_wait(asio::as_tuple(use_awaitable));
  }
  socket().close(ignored);
}

template class WsSession<asio::ip::tcp::socket>;
template class WsSession<beast::ssl_stream<beast::tcp_stream>>;

}  // namespace dialtone
