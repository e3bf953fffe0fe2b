#pragma once

// One connection of the HTTP server (http_server.cc): reading heads and bodies within their
// limits and timeouts, handing requests to the Handler, and writing answers, streams and
// downloads in order. Included by http_server.cc only.
#include <array>
#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "gateway/connection_limits.h"
#include "gateway/http_server.h"
#include "gateway/http_wire.h"
#include "infra/strings.h"
#include "infra/text.h"

namespace cityhub::gateway::http_internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

struct Shared {
  HttpServerOptions options;
  Handler& handler;
  std::atomic<int> connections{0};
  std::unique_ptr<ConnectionsPerClient> per_client;  // null: no cap per client address
};

inline std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// One connection. `Stream` is beast::tcp_stream or beast::ssl_stream<beast::tcp_stream>.
template <typename Stream>
class Session final : public std::enable_shared_from_this<Session<Stream>> {
 public:
  // `anchor` keeps what the stream refers to (the TLS context) alive as long as the stream.
  // `counted`: the client identity this connection is counted under in shared.per_client.
  template <typename... Args>
  Session(std::shared_ptr<void> anchor, Shared& shared, std::string client, std::string counted,
          bool tls, Args&&... stream_args)
      : anchor_(std::move(anchor)),
        stream_(std::forward<Args>(stream_args)...),
        shared_(shared),
        client_(std::move(client)),
        counted_(std::move(counted)),
        tls_(tls),
        timer_(stream_.get_executor()) {}

  ~Session() {
    if (shared_.per_client != nullptr) shared_.per_client->Remove(counted_);
    shared_.connections.fetch_sub(1);
  }

  void Start() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      WaitForRequest();
    } else {
      beast::get_lowest_layer(stream_).expires_after(shared_.options.header_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->Close();
                                self->WaitForRequest();
                              });
    }
  }

  // --- called on the session's strand -------------------------------------------------------

  void Write(HttpResponse response) {
    if (closed_ || streaming_) return;
    if (head_request_) {
      // HEAD: the GET answer's headers and Content-Length, and no body (a body would be read
      // as the start of the next response on a kept-alive connection).
      auto res = std::make_shared<http::response<http::empty_body>>();
      res->version(11);
      res->result(static_cast<unsigned>(response.status));
      for (auto& [k, v] : response.headers) res->insert(k, v);
      res->keep_alive(keep_alive_);
      res->content_length(response.body.size());
      return WriteMessage(std::move(res));
    }
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(response.status));
    for (auto& [k, v] : response.headers) res->insert(k, v);
    res->body() = std::move(response.body);
    res->keep_alive(keep_alive_);
    res->prepare_payload();
    WriteMessage(std::move(res));
  }

  void StartStream(HttpResponse head) {
    if (closed_ || streaming_) return;
    streaming_ = true;
    std::string raw = RawHead(head.status, head.headers);
    raw += "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    beast::get_lowest_layer(stream_).expires_never();
    Enqueue(std::move(raw));
    // The watching read starts first, without a timeout: an expiry set while no read is
    // pending (as Pump sets one for each write) would apply to it too and end the stream.
    Watch();
    Pump();
  }

  void Send(std::string data) {
    if (closed_ || !streaming_ || ending_) return;
    std::string chunk = Chunk(data);
    if (queue_bytes_ + chunk.size() > shared_.options.max_stream_backlog_bytes)
      return Close();  // not reading
    Enqueue(std::move(chunk));
    Pump();
  }

  void StartBody(HttpResponse head, uint64_t length, std::function<void(bool)> written) {
    if (closed_ || streaming_) return written(false);
    streaming_ = true;
    body_ = true;
    chunked_ = length == Responder::kUnknownLength;
    body_finished_ = head_request_;
    body_left_ = head_request_ || chunked_ ? 0 : length;
    const auto reason = http::obsolete_reason(static_cast<http::status>(head.status));
    std::string raw = infra::StrCat("HTTP/1.1 ", head.status, " ",
                                    std::string_view(reason.data(), reason.size()), "\r\n");
    for (const auto& [k, v] : head.headers) infra::StrAppend(&raw, k, ": ", v, "\r\n");
    if (chunked_) {
      infra::StrAppend(&raw, "Transfer-Encoding: chunked\r\n");
    } else {
      infra::StrAppend(&raw, "Content-Length: ", length, "\r\n");
    }
    infra::StrAppend(&raw, keep_alive_ ? "" : "Connection: close\r\n", "\r\n");
    pieces_.emplace_back(std::move(raw), std::move(written));
    PumpBody();
  }

  void SendBody(std::string piece, std::function<void(bool)> written) {
    if (chunked_ && !closed_ && !body_finished_) {
      if (piece.empty()) return written(true);  // an empty chunk would end the body
      pieces_.emplace_back(Chunk(piece), std::move(written));
      return PumpBody();
    }
    if (closed_ || !body_ || chunked_ || piece.size() > body_left_) {
      if (!closed_ && body_) Close();  // more than announced: the answer cannot be completed
      return written(false);
    }
    body_left_ -= piece.size();
    pieces_.emplace_back(std::move(piece), std::move(written));
    PumpBody();
  }

  // A chunked body (StartBody with kUnknownLength) is complete: the last chunk ends it.
  void FinishBody() {
    if (closed_ || !body_ || !chunked_ || body_finished_) return;
    body_finished_ = true;
    pieces_.emplace_back("0\r\n\r\n", [](bool) {});
    PumpBody();
  }

  void EndStream() {
    if (body_) {
      if (!BodyDone() || !pieces_.empty()) Close();
      return;
    }
    if (closed_ || !streaming_ || ending_) return;
    ending_ = true;
    Enqueue("0\r\n\r\n");
    Pump();
  }

  void OnGone(std::function<void()> fn) {
    if (closed_) {
      fn();
      return;
    }
    gone_.push_back(std::move(fn));
  }

  bool closed() const { return closed_.load(); }
  auto executor() { return stream_.get_executor(); }

 private:
  template <typename Response>
  void WriteMessage(std::shared_ptr<Response> res) {
    beast::get_lowest_layer(stream_).expires_after(
        refusing_ ? std::min<std::chrono::milliseconds>(shared_.options.write_timeout,
                                                        std::chrono::seconds(5))
                  : shared_.options.write_timeout);
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec) return self->Close();
                        if (self->refusing_) return self->Linger();
                        if (!res->keep_alive()) return self->Close();
                        self->WaitForRequest();
                      });
  }

  void WaitForRequest() {
    if (buffer_.size() > 0) return ReadHeader();
    // Waiting for the next request on a kept-alive connection: the idle timeout. The very
    // first request gets the (shorter) header timeout.
    beast::get_lowest_layer(stream_).expires_after(first_ ? shared_.options.header_timeout
                                                          : shared_.options.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec) return self->Close();
                              self->buffer_.commit(n);
                              self->ReadHeader();
                            });
  }

  void ReadHeader() {
    first_ = false;
    head_request_ = false;
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(shared_.options.max_header_bytes));
    parser_->body_limit(std::numeric_limits<uint64_t>::max());
    // Headers must arrive within the header timeout once the request has begun.
    Arm(shared_.options.header_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    Disarm();
    if (ec == http::error::header_limit) return Refuse(431, "request headers are too large");
    if (ec && timed_out_) return Refuse(408, "the request took too long to arrive");
    if (ec == http::error::bad_transfer_encoding)
      return Refuse(400, "Transfer-Encoding must end with chunked");
    if (ec) return Close();
    const auto& msg = parser_->get();
    HttpRequest head;
    head.method = std::string(msg.method_string());
    head.target = std::string(msg.target());
    const size_t q = head.target.find('?');
    head.path = head.target.substr(0, q);
    if (q != std::string::npos) head.query = head.target.substr(q + 1);
    for (const auto& field : msg) {
      const auto name = field.name_string();
      const auto value = field.value();
      head.headers.emplace_back(Lower(std::string_view(name.data(), name.size())),
                                std::string(value.data(), value.size()));
    }
    head.client_address = client_;
    head.tls = tls_;
    keep_alive_ = msg.keep_alive();
    head_request_ = msg.method() == http::verb::head;
    // Only `chunked` frames a body here. Any other coding would leave the body unread and its
    // bytes taken for the next request (RFC 9112 6.3: 400 and close unless chunked is last).
    if (const auto te = msg.find(http::field::transfer_encoding); te != msg.end()) {
      if (!parser_->chunked()) return Refuse(400, "Transfer-Encoding must end with chunked", &head);
      const std::string_view coding =
          infra::TrimAscii(std::string_view(te->value().data(), te->value().size()));
      if (!beast::iequals(beast::string_view(coding.data(), coding.size()), "chunked") ||
          msg.count(http::field::transfer_encoding) > 1) {
        return Refuse(501, "only the chunked transfer coding is supported", &head);
      }
    }
    const size_t limit = shared_.handler.BodyLimit(head);
    if (msg.has_content_length() && parser_->content_length().value_or(0) > limit) {
      return Refuse(413, infra::StrCat("the request body is larger than ", limit, " bytes"), &head);
    }
    parser_->body_limit(limit);
    head_ = std::move(head);
    if (parser_->is_done()) return AfterAdmit(std::nullopt);
    // Who may send this body is known from the headers: a refused client uploads nothing.
    shared_.handler.Admit(head_, MakeResponder(),
                          [self = this->shared_from_this()](std::optional<HttpResponse> refusal) {
                            self->AfterAdmit(std::move(refusal));
                          });
  }

  // On the connection's thread, once Admit decided about the request in head_.
  void AfterAdmit(std::optional<HttpResponse> refusal) {
    if (refusal) {
      keep_alive_ = false;
      refusing_ = true;
      return Write(*std::move(refusal));
    }
    const auto& msg = parser_->get();
    const bool expects_continue =
        !parser_->is_done() && beast::iequals(msg[http::field::expect], "100-continue");
    if (expects_continue) {
      // The client waits for this before it sends the body (curl and others do for large
      // uploads); the checks above that can refuse the request without the body are done.
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      beast::get_lowest_layer(stream_).expires_after(shared_.options.write_timeout);
      asio::async_write(stream_, asio::buffer(kContinue),
                        [self = this->shared_from_this()](beast::error_code ec, size_t) {
                          if (ec) return self->Close();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    Arm(shared_.options.body_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnBody(ec); });
  }

  void OnBody(beast::error_code ec) {
    Disarm();
    if (ec == http::error::body_limit) return Refuse(413, "the request body is too large", &head_);
    if (ec && timed_out_) return Refuse(408, "the request body took too long to arrive", &head_);
    if (ec) return Close();
    HttpRequest request = std::move(head_);
    request.body = std::move(parser_->get().body());
    shared_.handler.Handle(std::move(request), MakeResponder());
  }

  // The header and body timeouts. Unlike the stream's own expiry (used while idle, where
  // closing is the answer), this one only cancels the read, so that a 408 can still go out.
  void Arm(std::chrono::milliseconds timeout) {
    beast::get_lowest_layer(stream_).expires_never();
    timed_out_ = false;
    const uint64_t generation = ++timer_generation_;
    timer_.expires_after(timeout);
    timer_.async_wait([weak = this->weak_from_this(), generation](beast::error_code ec) {
      auto self = weak.lock();
      // A stale expiry (the read finished first) must not cancel what runs now.
      if (ec || self == nullptr || generation != self->timer_generation_) return;
      self->timed_out_ = true;
      beast::error_code ignored;
      beast::get_lowest_layer(self->stream_).socket().cancel(ignored);
    });
  }

  void Disarm() {
    ++timer_generation_;
    timer_.cancel();
  }

  // An error answer the server makes itself; the connection closes after it.
  void Refuse(int status, std::string_view message, const HttpRequest* head = nullptr) {
    keep_alive_ = false;
    refusing_ = true;
    Write(shared_.handler.ServerError(status, message, head));
  }

  // After a refusal the client may still be sending the body we refused (a 10 MiB upload):
  // closing at once would reset the connection, and the client would lose the answer before
  // reading it. So sending ends first, and what still arrives is read and dropped, for at most
  // two seconds.
  void Linger() {
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_send, ignored);
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
    discard_.resize(64 * 1024);
    Discard();
  }
  void Discard() {
    stream_.async_read_some(asio::buffer(discard_),
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->Close();
                              self->Discard();
                            });
  }

  // Reads while streaming, to learn when the client leaves.
  void Watch() {
    stream_.async_read_some(asio::buffer(watch_buffer_),
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->Close();
                              self->Watch();
                            });
  }

  // Every write of a stream goes through here, so that queue_bytes_ is what queue_ holds.
  void Enqueue(std::string data) {
    queue_bytes_ += data.size();
    queue_.push_back(std::move(data));
  }

  void Pump() {
    if (writing_ || queue_.empty() || closed_) return;
    writing_ = true;
    // Only the write is timed: the watching read stays pending without a timeout.
    beast::get_lowest_layer(stream_).expires_after(shared_.options.write_timeout);
    asio::async_write(stream_, asio::buffer(queue_.front()),
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        self->writing_ = false;
                        self->queue_bytes_ -= self->queue_.front().size();
                        self->queue_.pop_front();
                        if (ec) return self->Close();
                        if (self->ending_ && self->queue_.empty()) return self->Close();
                        self->Pump();
                      });
  }

  // Whether every byte of the body was handed over (a chunked one: its last chunk too).
  bool BodyDone() const { return chunked_ ? body_finished_ : body_left_ == 0; }

  // A download's pieces, one write at a time; the exchange ends after the last.
  void PumpBody() {
    if (writing_ || pieces_.empty() || closed_) return;
    writing_ = true;
    beast::get_lowest_layer(stream_).expires_after(shared_.options.write_timeout);
    asio::async_write(stream_, asio::buffer(pieces_.front().first),
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        self->writing_ = false;
                        auto written = std::move(self->pieces_.front().second);
                        self->pieces_.pop_front();
                        if (ec) {
                          self->Close();
                          return written(false);
                        }
                        if (self->BodyDone() && self->pieces_.empty()) {
                          self->streaming_ = self->body_ = self->chunked_ = false;
                          if (self->keep_alive_) {
                            self->WaitForRequest();
                          } else {
                            self->Close();
                          }
                        }
                        written(true);
                        self->PumpBody();
                      });
  }

  void Close() {
    if (closed_.exchange(true)) return;
    Disarm();
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(stream_).close();
    auto gone = std::move(gone_);
    for (auto& fn : gone) fn();
    // Pieces not written yet (the one being written reports from its own completion).
    while (pieces_.size() > (writing_ ? 1u : 0u)) {
      auto written = std::move(pieces_.back().second);
      pieces_.pop_back();
      written(false);
    }
  }

  std::shared_ptr<Responder> MakeResponder();

  std::shared_ptr<void> anchor_;
  Stream stream_;
  Shared& shared_;
  std::string client_;
  std::string counted_;
  bool tls_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpRequest head_;
  asio::steady_timer timer_;
  uint64_t timer_generation_ = 0;
  bool timed_out_ = false;
  bool keep_alive_ = true;
  bool head_request_ = false;
  bool first_ = true;
  std::atomic<bool> closed_{false};
  bool streaming_ = false;
  bool ending_ = false;
  bool writing_ = false;
  std::deque<std::string> queue_;
  size_t queue_bytes_ = 0;
  bool body_ = false;  // a download (StartBody) is being written
  uint64_t body_left_ = 0;
  bool chunked_ = false;        // the body is sent chunked (its length was not known)
  bool body_finished_ = false;  // chunked: FinishBody came (or a HEAD: no body at all)
  std::deque<std::pair<std::string, std::function<void(bool)>>> pieces_;
  bool refusing_ = false;
  std::vector<std::function<void()>> gone_;
  std::array<char, 512> watch_buffer_{};
  std::string discard_;
};

}  // namespace cityhub::gateway::http_internal
