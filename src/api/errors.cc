#include "api/errors.h"

#include <nlohmann/json.hpp>

namespace berth::api {

int http_status_of(Errc code) {
  switch (code) {
    case Errc::ok: return 200;
    case Errc::not_found: return 404;
    case Errc::already_exists: return 409;
    case Errc::invalid_argument: return 400;
    case Errc::conflict: return 409;
    case Errc::io_error: return 500;
    case Errc::unavailable: return 503;
    case Errc::internal: return 500;
    case Errc::blob_unknown: return 404;
    case Errc::blob_upload_invalid: return 400;
    case Errc::blob_upload_unknown: return 404;
    case Errc::digest_invalid: return 400;
    case Errc::manifest_blob_unknown: return 400;
    case Errc::manifest_invalid: return 400;
    case Errc::manifest_unknown: return 404;
    case Errc::name_invalid: return 400;
    case Errc::name_unknown: return 404;
    case Errc::size_invalid: return 400;
    case Errc::unauthorized: return 401;
    case Errc::denied: return 403;
    case Errc::unsupported: return 415;
    case Errc::too_many_requests: return 429;
    case Errc::range_invalid: return 416;
    case Errc::too_large: return 413;
    case Errc::insufficient_storage: return 507;
  }
  return 500;
}

std::string_view oci_code_of(Errc code) {
  switch (code) {
    case Errc::blob_unknown: return "BLOB_UNKNOWN";
    case Errc::blob_upload_invalid: return "BLOB_UPLOAD_INVALID";
    case Errc::blob_upload_unknown: return "BLOB_UPLOAD_UNKNOWN";
    case Errc::digest_invalid: return "DIGEST_INVALID";
    case Errc::manifest_blob_unknown: return "MANIFEST_BLOB_UNKNOWN";
    case Errc::manifest_invalid: return "MANIFEST_INVALID";
    case Errc::manifest_unknown: return "MANIFEST_UNKNOWN";
    case Errc::name_invalid: return "NAME_INVALID";
    case Errc::name_unknown: return "NAME_UNKNOWN";
    case Errc::size_invalid: return "SIZE_INVALID";
    case Errc::unauthorized: return "UNAUTHORIZED";
    case Errc::denied: return "DENIED";
    case Errc::unsupported: return "UNSUPPORTED";
    case Errc::too_many_requests: return "TOOMANYREQUESTS";
    case Errc::range_invalid: return "BLOB_UPLOAD_INVALID";
    case Errc::too_large: return "SIZE_INVALID";
    case Errc::unavailable: return "UNAVAILABLE";
    default: return "UNKNOWN";
  }
}

http::Response error_response(Errc code, std::string message) {
  int status = http_status_of(code);
  // Internal failures keep their detail in the server log, not in the answer.
  // A full disk is the operator's to fix, but the client should know its push failed for that reason.
  if (status >= 500 && code != Errc::insufficient_storage) {
    message = code == Errc::unavailable ? "service unavailable" : "internal server error";
  }
  nlohmann::json body = {{"errors", nlohmann::json::array({{{"code", oci_code_of(code)}, {"message", message}}})}};
  // Messages echo what the client sent (a tag, a media type): bytes that are not UTF-8 become U+FFFD
  // rather than an exception and a 500.
  return http::Response::json(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

http::Response error_response(const Status& status) { return error_response(status.code(), status.message()); }

}  // namespace berth::api
