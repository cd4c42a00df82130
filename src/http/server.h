// The HTTP/1.1 server: one single-threaded io_context per I/O thread, keep-alive, header and body
// limits, idle timeouts, optional native TLS, zero-copy file responses, and graceful shutdown on
// SIGTERM/SIGINT (stop accepting, let in-flight requests finish, close idle connections).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "http/message.h"

namespace berth::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 5000;               // 0: pick a free port (see Server::port)
  unsigned io_threads = 0;            // 0: one per core
  unsigned blocking_threads = 8;      // for fsync, database writes, object storage calls
  // Whether Handler::on_request itself runs on the blocking pool instead of the I/O thread: worth its
  // thread hop when every metadata read is a network round trip (PostgreSQL), not with an embedded database.
  bool handle_on_pool = false;
  size_t header_limit = 64 * 1024;    // long bearer tokens do not fit Beast's 8 KiB default
  std::chrono::seconds header_timeout{30};   // to receive a whole request header, and a new connection's first
  // Connections at once (0: no cap). Over it, an idle connection is closed to make room (one that never
  // sent a request first), or the new one is closed at once when none is idle.
  size_t max_connections = 0;
  std::chrono::seconds idle_timeout{120};    // keep-alive idle, and between body chunks / sends
  std::chrono::seconds shutdown_grace{30};   // how long in-flight requests may take after SIGTERM
  std::string tls_cert_file;          // both set: serve HTTPS only
  std::string tls_key_file;
};

class Server {
 public:
  Server(ServerOptions options, Handler& handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket and loads TLS material. Errors: unavailable (address in use, bad TLS files).
  Status start();
  // The bound port (useful with port 0).
  uint16_t port() const;
  // Serves until SIGTERM/SIGINT or stop(), then shuts down gracefully. Blocks.
  void run();
  // Asks run() to shut down gracefully; callable from any thread.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::http
