// What a webhook receives (docs/webhooks.md): the JSON body of a package event, shaped like GitHub's
// `registry_package` event so that receivers written for GitHub read it, and its signature.
#pragma once

#include <string>
#include <string_view>

#include "meta/webhook_store.h"

namespace berth::hooks {

// The JSON body. `origin` is how clients reach the registry ("https://registry.example.com"): the
// package's pull reference and its URLs are built from it.
std::string payload(const meta::PackageEvent& event, const meta::Webhook& hook, const std::string& origin);

// X-Hub-Signature-256: "sha256=" and the lowercase hex HMAC-SHA256 of the body under the secret.
std::string signature(const std::string& secret, std::string_view body);

// The X-GitHub-Event header: "registry_package" (GitHub's name for container package events).
inline constexpr std::string_view kEventName = "registry_package";

}  // namespace berth::hooks
