// Internal to the HTTP/2 data plane: one downstream HTTP/2 connection (Session) and its streams
// (Stream). Not a public API, but it is the interface a stream handler uses, whichever upstream
// protocol it speaks: the HTTP/1.1 upstream proxy (proxy_h1.cc) and an HTTP/2 upstream client
// both consume a Stream's request (head, body with flow control, trailers) and produce its
// response through the functions below.
//
// Threading: everything runs on the connection's worker thread. nghttp2 callbacks only record
// state and notify an Event; the coroutines waiting on them resume later from the event loop.
//
// Lifetimes (plain reference counts, single thread):
//   - A Session is referenced by its reader and writer coroutines and by every running stream
//     handler; it is deleted (socket closed, nghttp2 session freed) when the last one ends.
//   - A Stream is referenced by nghttp2 (from the first HEADERS frame until its stream-close
//     callback, or until the Session dies) and by its handler coroutine while that runs.
#pragma once

#include <nghttp2/nghttp2.h>

#include <array>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/http1/parser.h"
#include "dataplane/http2/event.h"
#include "dataplane/http2/server.h"
#include "dataplane/worker.h"

namespace gantry::dataplane::http2 {

class Session;

// One header field for a response (names must be lower-case, RFC 9113 8.2.1).
struct Field {
  std::string_view name;
  std::string_view value;
};

struct Stream {
  Stream(Session& s, int32_t stream_id);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  Session& session;
  const int32_t id;

  // --- request (filled by the session while the header block arrives) --------------------------
  std::string_view method;     // :method
  std::string_view scheme;     // :scheme
  std::string_view authority;  // :authority, else the Host field
  std::string_view path;       // :path, raw (origin-form with query, or "*")
  // Regular fields in arrival order (lower-case names, validated by nghttp2: no connection-
  // specific fields, no CR/LF/NUL in values). Views into `rcbufs`, valid for the Stream's life.
  std::vector<http1::Header> headers;
  std::vector<http1::Header> trailers;  // request trailers (a HEADERS block after DATA)
  bool has_content_length = false;
  uint64_t content_length = 0;
  uint32_t header_bytes = 0;  // RFC 9113 6.5.2 accounting: name + value + 32 per field
  bool too_large = false;     // over the header list limit -> 431
  bool bad_host = false;      // Host and :authority disagree (RFC 9113 8.3.1)
  bool headers_done = false;  // the request header block is complete (handler started)

  // --- request body ----------------------------------------------------------------------------
  // DATA payload received and not yet taken by the handler. Bounded by the stream's flow-control
  // window: the window only reopens when the handler calls Session::consume().
  std::string body;
  size_t body_off = 0;        // bytes of `body` already taken
  uint64_t unconsumed = 0;    // received DATA bytes not yet passed to consume()
  bool body_end = false;      // END_STREAM received (body and trailers complete)
  bool discard_body = false;  // the handler is not interested: consume on arrival
  Event req_event;            // more body, end of body, or stream closed

  // --- response --------------------------------------------------------------------------------
  bool response_submitted = false;
  bool resp_end = false;  // no more body after resp_data
  std::string resp_data;  // body bytes waiting for nghttp2's data provider
  size_t resp_off = 0;
  std::vector<std::string> resp_trailers;  // name, value, name, value... (lower-case names)
  bool deferred = false;                   // the data provider returned NGHTTP2_ERR_DEFERRED
  Event resp_event;                        // resp_data drained (window opened), or stream closed

  // --- state -----------------------------------------------------------------------------------
  bool closed = false;       // nghttp2 closed the stream (done, reset by either side)
  uint32_t close_error = 0;  // its error code (NGHTTP2_NO_ERROR when it completed)
  bool nghttp2_ref = true;
  bool handler_ref = false;
  // One reference on each nghttp2 buffer that a field view above points into. The first
  // kInlineRcbufs are held in the Stream itself, so that a usual request (up to a dozen fields)
  // allocates nothing for them (bench/README.md "HTTP/2").
  static constexpr size_t kInlineRcbufs = 24;
  std::array<nghttp2_rcbuf*, kInlineRcbufs> rcbufs{};
  uint32_t n_rcbufs = 0;
  std::vector<nghttp2_rcbuf*> more_rcbufs;
  void keep(nghttp2_rcbuf* b) {
    nghttp2_rcbuf_incref(b);
    if (n_rcbufs < kInlineRcbufs) {
      rcbufs[n_rcbufs++] = b;
    } else {
      more_rcbufs.push_back(b);
    }
  }
  Stream* prev = nullptr;  // Session's list of live streams
  Stream* next = nullptr;

  size_t bodyAvailable() const { return body.size() - body_off; }
  // True when the handler should stop: the client reset the stream or the connection is gone.
  bool aborted() const;
};

class Session {
 public:
  // Starts serving (reader and writer coroutines). Takes ownership of everything.
  static void start(Worker& w, asio::ip::tcp::socket socket, SslPtr ssl,
                    std::shared_ptr<const PortKey> port, std::string_view preread);

  Worker& worker() { return w_; }
  const PortKey& port() const { return *port_; }
  const asio::ip::tcp::endpoint& peer() const { return peer_; }
  // The client's address as text (X-Forwarded-For), formatted once per connection.
  std::string_view peerIp() const { return {peer_ip_, peer_ip_len_}; }
  SSL* ssl() const { return ssl_.get(); }
  bool dead() const { return dead_; }

  // --- for stream handlers -----------------------------------------------------------------------
  // Moves up to `max` buffered request body bytes into `out` (appending) and returns how many.
  // The caller passes them to consume() once forwarded, which reopens the flow-control windows.
  size_t takeBody(Stream& s, std::string& out, size_t max);
  void consume(Stream& s, size_t n);
  // Stops reading the request body: what is buffered and what still arrives is discarded (and
  // its flow-control credit returned at once).
  void discardBody(Stream& s);

  // Submits the response head. `has_body` false: the HEADERS frame ends the stream. With a body,
  // feed it with appendBody() and end it with endBody(). Returns false if the stream is gone.
  bool submitResponse(Stream& s, unsigned status, const std::vector<Field>& fields, bool has_body);
  // An interim (1xx) response head (RFC 9110 15.2), e.g. 103 Early Hints.
  bool submitInterim(Stream& s, unsigned status, const std::vector<Field>& fields);
  void appendBody(Stream& s, std::string_view data);
  // Ends the body; trailers (lower-case names) go in a final HEADERS frame.
  void endBody(Stream& s, std::vector<std::string> trailers = {});
  // Bytes appended and not yet framed by nghttp2.
  size_t pendingBody(const Stream& s) const { return s.resp_data.size() - s.resp_off; }
  // Local response with a short text/plain body.
  bool respondLocal(Stream& s, unsigned status, std::string_view body,
                    const std::vector<Field>& extra = {});
  // RST_STREAM with `error` (e.g. NGHTTP2_INTERNAL_ERROR when the upstream failed after the
  // response head was sent, so that the client sees a failed, not a truncated-but-complete,
  // response).
  void resetStream(Stream& s, uint32_t error);

  // Internal (nghttp2 callbacks and coroutines).
  Session(Worker& w, asio::ip::tcp::socket socket, SslPtr ssl, std::shared_ptr<const PortKey> port);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void addRef() { ++refs_; }
  void release();
  void releaseStream(Stream* s, bool handler);
  void wakeWriter() { write_event_.notify(); }

  // nghttp2 callbacks (static trampolines in session.cc forward here).
  int onBeginFrame(const nghttp2_frame_hd* hd);
  int onBeginHeaders(const nghttp2_frame* frame);
  int onHeader(const nghttp2_frame* frame, nghttp2_rcbuf* name, nghttp2_rcbuf* value);
  int onFrameRecv(const nghttp2_frame* frame);
  int onDataChunk(int32_t stream_id, const uint8_t* data, size_t len);
  int onStreamClose(int32_t stream_id, uint32_t error_code);
  int onFrameSend(const nghttp2_frame* frame);
  ssize_t readResponseData(Stream& s, uint8_t* buf, size_t length, uint32_t* flags);

 private:
  bool init(std::string_view preread);
  asio::awaitable<void> reader();
  bool afterWait(bool cancelled);
  asio::awaitable<void> writer();
  void kill();              // the connection is unusable: stop everything
  void gracefulShutdown();  // GOAWAY(NO_ERROR) with the last processed stream id
  void updateDeadline();
  void streamReady(Stream* s);  // request head complete: start its handler
  void startReadyStreams();
  void noteClientReset();
  static asio::awaitable<void> runStream(Session* self, Stream* s);

  Worker& w_;
  asio::ip::tcp::socket sock_;
  SslPtr ssl_;
  std::shared_ptr<const PortKey> port_;
  asio::ip::tcp::endpoint peer_;
  char peer_ip_[48] = {};  // INET6_ADDRSTRLEN
  uint8_t peer_ip_len_ = 0;
  ConnEntry entry_;
  nghttp2_session* ng_ = nullptr;
  Event write_event_;
  std::string wbuf_;  // serialized frames waiting for the socket
  size_t wbuf_off_ = 0;
  Stream* streams_ = nullptr;   // live streams (intrusive list)
  std::vector<Stream*> ready_;  // streams whose head completed during the current mem_recv
  int refs_ = 0;
  uint32_t active_handlers_ = 0;
  bool dead_ = false;
  bool goaway_sent_ = false;
  bool reader_waiting_write_ = false;
  Event read_resume_;  // the reader paused because wbuf_ was full
  // Rapid-reset defence (CVE-2023-44487): a token bucket of client RST_STREAMs.
  double reset_tokens_;
  // Streams we sent RST_STREAM on, recently (see onBeginFrame).
  std::array<int32_t, 128> reset_by_us_{};
  size_t reset_pos_ = 0;
  int64_t reset_refill_ms_ = 0;
};

// Runs the stream's request through routing and to its HTTP/1.1 upstream (proxy_h1.cc).
asio::awaitable<void> handleStream(Session& session, Stream& stream);

}  // namespace gantry::dataplane::http2
