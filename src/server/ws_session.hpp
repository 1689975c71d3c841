// SPDX-License-Identifier: Apache-2.0
// One WebSocket session (GET /v1/ws): reads ops, answers each once, and writes the snapshots
// and signals the hub hands it. Everything runs on the session's strand; other threads reach
// it only through deliver()/shutdown(), which post onto that strand. Every frame the server
// sends (messages, pings, pongs, the close frame) goes through the one writer, so no two writes
// ever overlap; it writes everything queued with one gathered write. The framing is
// ws_frame.hpp's. An idle plain-TCP session is small: a bare socket, no read buffer (it waits
// for the socket to be readable, then reads into its thread's scratch buffer), no writer (a
// chain of write completions that ends when nothing is left to send; a timer restarts it for
// the next ping or token deadline), and one coroutine frame, the reader's.
//
// A session lives as long as its token: token_lead before the token's expiry it is sent
// token_expiring; `{"op":"auth","token"}` renews it in place (same user only); at expiry it is
// closed with 4001 "token expired", and an op that races the close is refused.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

#include "server/context.hpp"
#include "server/http_api.hpp"
#include "server/limits.hpp"
#include "server/ws_frame.hpp"

namespace dialtone {

// The close code of a session whose token expired without a renewal (reason "token expired").
inline constexpr std::uint16_t kCloseTokenExpired = 4001;

// Stream: boost::asio::ip::tcp::socket, or boost::beast::ssl_stream<boost::beast::tcp_stream>
// (TLS).
template <class Stream>
class WsSession : public SessionSink, public std::enable_shared_from_this<WsSession<Stream>> {
 public:
  // `keep` is held as long as the session (the connection's slot, its TLS context).
  WsSession(ServerContext& ctx, Stream stream, Peer peer, Principal who, std::string deviceId,
            std::shared_ptr<void> keep);
  ~WsSession() override;

  // Completes the handshake (`acceptKey`: the upgrade request's Sec-WebSocket-Accept, already
  // checked by the listener), then serves until the connection ends (over TLS, in this
  // coroutine; on plain TCP, in a chain of read completions that outlives it).
  boost::asio::awaitable<void> run(std::string acceptKey);

  boost::asio::any_io_executor get_executor() { return stream_.get_executor(); }

  void deliver(Message msg) override;
  void shutdown() override;
  const std::string& user_id() const override { return who_.userId; }
  const std::string& device_id() const override { return device_; }

 private:
  static constexpr bool kPlain = std::is_same_v<Stream, boost::asio::ip::tcp::socket>;

  boost::asio::awaitable<bool> accept(std::string acceptKey);  // the 101 answer
  void greet();                                                // hello, and the hub's join
  // The writer runs only while there is something to send; kick() starts it (or, running, makes
  // it look again), sleep_until_due() arms the wake-up for the next ping or token deadline.
  struct Outgoing {  // what one gathered write sends from, alive until it completes
    std::string headers;
    std::vector<boost::asio::const_buffer> buffers;
    std::string pong;
  };
  void write_next();
  void written(boost::system::error_code ec, std::size_t batch);
  void kick();
  void sleep_until_due();
  boost::asio::awaitable<void> finish_close();
  // TLS: reads what has arrived into the parser; false at the end of the connection.
  boost::asio::awaitable<bool> receive();
  bool read_available();  // plain TCP, once the socket is readable: the same, without waiting
  void wait_readable();   // plain TCP: read_available() and on_frames() each time it is readable
  void read_ended();      // the connection's input is over: the session closes
  boost::asio::ip::tcp::socket& socket() {
    if constexpr (kPlain)
      return stream_;
    else
      return boost::beast::get_lowest_layer(stream_).socket();
  }
  void on_frames();           // every complete message and control frame the parser has
  void enqueue(Message msg);  // on the strand
  void handle(std::string_view text);
  void reply(const boost::json::value& id, const OpResult& r);
  void renew(const boost::json::value& id, const std::string& token);  // op auth
  void renewed(const boost::json::value& id, Principal p);
  void watch(const boost::json::value& id, std::vector<std::string> userIds);  // op watch
  bool expired(TimeMs now) const { return now >= expires_; }
  // When the writer must wake for the token: token_expiring, then the expiry.
  TimeMs next_token_event() const { return warned_ ? expires_ : warn_at_; }
  void set_expiry(TimeMs exp, TimeMs now);
  void close(std::uint16_t code, std::string_view reason = "");

  using std::enable_shared_from_this<WsSession<Stream>>::shared_from_this;

  ServerContext& ctx_;
  Stream stream_;
  ws::Parser parser_;
  std::string tlsBuffer_;  // TLS sessions only: what OpenSSL decrypted is read into this
  std::shared_ptr<void> keep_;
  TokenBucket messages_;  // limit_messages_per_s
  Peer peer_;             // for the sign-in failure limit of `auth`
  Principal who_;
  std::string device_;
  TimeMs expires_ = 0;  // the token's expiry: the session ends then
  TimeMs warn_at_ = 0;  // when token_expiring is sent
  bool warned_ = false;
  // Outgoing messages: a vector used as a queue (std::deque allocates its first chunk on
  // construction, half a KiB per idle session).
  std::vector<Message> queue_;
  std::size_t queue_head_ = 0;
  boost::asio::steady_timer wake_;
  int missed_pongs_ = 0;
  bool ping_due_ = false;         // the writer sends a ping with the next batch
  bool pong_due_ = false;         // … and a pong carrying pong_payload_
  std::string pong_payload_;      // the latest ping's (RFC 6455 §5.5.3)
  bool closing_ = false;          // no more messages are queued; the writer closes the stream
  std::uint16_t close_code_ = 0;  // send a close frame first (0: none)
  std::string close_text_;
  bool peer_closed_ = false;  // the peer's close frame has arrived (nothing is read after it)
  bool failed_ = false;       // the peer broke the protocol: closed without waiting for it
  std::chrono::steady_clock::time_point next_ping_;
  bool read_done_ = false;     // the read loop has ended
  bool writing_ = false;       // a write is in flight, or the close handshake has begun
  bool write_posted_ = false;  // a write is to start from the strand's queue

  static constexpr TimeMs kSkewedTokenMs = 5'000;  // the life of a session whose token is past exp
  static constexpr std::size_t kMaxQueued = 4096;  // a slower consumer is cut off
  static constexpr std::size_t kHardMessageLimit = 1 << 20;  // beyond this: close 1009
  static constexpr std::size_t kReadChunk = 64 * 1024;       // read at most this much at a time
  static constexpr std::size_t kTlsChunk = 4096;
};

extern template class WsSession<boost::asio::ip::tcp::socket>;
extern template class WsSession<boost::beast::ssl_stream<boost::beast::tcp_stream>>;

}  // namespace dialtone
