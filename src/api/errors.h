// The one place where a Status becomes an HTTP status and an OCI error body
// ({"errors":[{"code":…,"message":…}]}).
#pragma once

#include <string_view>

#include "common/status.h"
#include "http/message.h"

namespace berth::api {

int http_status_of(Errc code);
std::string_view oci_code_of(Errc code);
http::Response error_response(const Status& status);
http::Response error_response(Errc code, std::string message);

}  // namespace berth::api
