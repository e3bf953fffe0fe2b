#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/ssl/context.hpp>

#include "absl/status/statusor.h"
#include "gateway/http_server.h"

// What the HTTP server writes itself rather than through Beast's serializer (the head of a
// stream, its chunks, answers to connections it turns away), and its TLS context.
namespace cityhub::gateway {

// "HTTP/1.1 <status> <reason>\r\n" and each header as "Name: value\r\n" (no blank line yet).
std::string RawHead(int status, const Headers& headers);

// One chunk of a chunked body.
std::string Chunk(std::string_view data);

// A server TLS context (TLS 1.2 and newer) from PEM files. A key that does not belong to the
// certificate (e.g. read between two file updates) is refused, so that the pair in use stays.
absl::StatusOr<std::shared_ptr<boost::asio::ssl::context>> ServerTlsContext(
    const std::string& cert_file, const std::string& key_file);

}  // namespace cityhub::gateway
