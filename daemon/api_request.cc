#include "daemon/api_request.h"

#include <openssl/crypto.h>

#include <charconv>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "daemon/config_tiers.h"

namespace mlcron {
namespace {

using nlohmann::json;
using Parsed = std::variant<ApiCall, HttpResponse>;

HttpResponse Bad(const std::string& message) { return JsonError(400, message); }

std::string Quoted(std::string_view s) { return json(std::string(s)).dump(); }

std::optional<std::int64_t> PositiveId(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v <= 0) return std::nullopt;
  return v;
}

struct Target {
  std::vector<std::string> path;  // decoded segments of the path
  std::map<std::string, std::string> query;
};

std::variant<Target, HttpResponse> SplitTarget(std::string_view target) {
  Target t;
  const size_t q = target.find('?');
  std::string_view path = target.substr(0, q);
  if (path.empty() || path.front() != '/') return Bad("request target must start with \"/\"");
  size_t at = 1;
  while (at <= path.size()) {
    size_t slash = path.find('/', at);
    if (slash == std::string_view::npos) slash = path.size();
    auto part = PercentDecode(path.substr(at, slash - at), false);
    if (!part) return Bad("bad percent-escape in the path");
    t.path.push_back(std::move(*part));
    at = slash + 1;
  }
  if (!t.path.empty() && t.path.back().empty()) t.path.pop_back();  // "/runs/" = "/runs"
  if (q == std::string_view::npos) return t;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    auto key = PercentDecode(pair.substr(0, eq), true);
    auto value = PercentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!key || !value) return Bad("bad percent-escape in the query");
    if (t.query.count(*key)) return Bad("query parameter " + Quoted(*key) + " given twice");
    t.query[*key] = *value;
  }
  return t;
}

// Checks that only `allowed` keys are present.
std::optional<HttpResponse> OnlyKeys(const Target& t, std::initializer_list<std::string_view> ok) {
  for (const auto& [key, value] : t.query) {
    bool known = false;
    for (auto k : ok) known = known || key == k;
    if (!known) return Bad("unknown query parameter " + Quoted(key));
  }
  return std::nullopt;
}

std::optional<HttpResponse> ReadLimit(const Target& t, ApiCall* call) {
  auto it = t.query.find("limit");
  if (it == t.query.end()) return std::nullopt;
  auto v = PositiveId(it->second);
  if (!v || *v > ApiCall::kMaxLimit) {
    return Bad("limit: " + Quoted(it->second) + " is not an integer from 1 to " +
               std::to_string(ApiCall::kMaxLimit));
  }
  call->limit = static_cast<int>(*v);
  return std::nullopt;
}

std::optional<HttpResponse> ReadName(const std::map<std::string, std::string>& query,
                                     const std::string& key, std::optional<std::string>* out) {
  auto it = query.find(key);
  if (it == query.end()) return std::nullopt;
  if (!IsApiName(it->second)) {
    return Bad(key + ": " + Quoted(it->second) +
               " is not a name (letters, digits, \"_\", \".\", \"-\")");
  }
  *out = it->second;
  return std::nullopt;
}

std::optional<HttpResponse> ReadSegment(const std::map<std::string, std::string>& query,
                                        std::optional<std::string>* out) {
  auto it = query.find("segment");
  if (it == query.end()) return std::nullopt;
  if (!IsApiSegment(it->second)) return Bad("segment: " + Quoted(it->second) + " is not valid");
  *out = it->second;
  return std::nullopt;
}

Parsed IdOr400(std::string_view what, const std::string& text, std::int64_t* out) {
  auto v = PositiveId(text);
  if (!v) return Bad(std::string(what) + " " + Quoted(text) + " is not a positive integer");
  *out = *v;
  return ApiCall{};
}

// The JSON object body of a POST; an empty body is {}.
std::variant<json, HttpResponse> BodyObject(const std::string& body) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return json::object();
  json j;
  try {
    j = json::parse(body);
  } catch (const json::parse_error& e) {
    return Bad(std::string("request body is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) return Bad("request body must be a JSON object");
  return j;
}

Parsed ParseRetrain(const std::string& body, ApiCall call) {
  auto parsed = BodyObject(body);
  if (auto* e = std::get_if<HttpResponse>(&parsed)) return *e;
  const json& j = std::get<json>(parsed);
  for (const auto& [key, value] : j.items()) {
    if (key != "model" && key != "segment" && key != "full") {
      return Bad("unknown key " + Quoted(key) + " in the body (model, segment, full)");
    }
  }
  if (!j.contains("model") || !j["model"].is_string()) {
    return Bad("body: \"model\" (a string) is required");
  }
  const std::string model = j["model"];
  if (!IsApiName(model)) return Bad("model: " + Quoted(model) + " is not a name");
  call.model = model;
  if (j.contains("segment") && !j["segment"].is_null()) {
    if (!j["segment"].is_string() || !IsApiSegment(j["segment"].get<std::string>())) {
      return Bad("segment: must be a valid segment string");
    }
    call.segment = j["segment"].get<std::string>();
  }
  if (j.contains("full")) {
    if (!j["full"].is_boolean()) return Bad("full: must be true or false");
    call.full = j["full"];
  }
  return call;
}

Parsed ParsePromote(const std::string& body, ApiCall call) {
  auto parsed = BodyObject(body);
  if (auto* e = std::get_if<HttpResponse>(&parsed)) return *e;
  const json& j = std::get<json>(parsed);
  for (const auto& [key, value] : j.items()) {
    if (key == "reason" && value.is_string() && value.get<std::string>().size() <= 1000) {
      call.reason = value;
    } else if (key == "force" && value.is_boolean()) {
      call.force = value;
    } else {
      return Bad("body: " + Quoted(key) +
                 " is not allowed here (reason: a string, force: true/false)");
    }
  }
  return call;
}

HttpResponse MethodNotAllowed(const char* allowed) {
  HttpResponse r = JsonError(405, std::string("method not allowed; use ") + allowed);
  r.headers.emplace_back("Allow", allowed);
  return r;
}

Parsed Route(const HttpRequest& request, const Target& t) {
  const auto& p = t.path;
  const bool get = request.method == "GET";
  const bool post = request.method == "POST";
  ApiCall call;
  auto need = [&](bool post_route) -> std::optional<HttpResponse> {
    if (post_route ? post : get) return std::nullopt;
    return MethodNotAllowed(post_route ? "POST" : "GET");
  };
  auto n = p.size();
  auto is = [&](std::initializer_list<const char*> parts) {
    if (parts.size() != n) return false;
    size_t i = 0;
    for (const char* part : parts) {
      if (part != nullptr && p[i] != part) return false;
      ++i;
    }
    return true;
  };
  if (n == 0) {
    if (auto e = need(false)) return *e;
    call.endpoint = ApiEndpoint::kIndex;
    return call;
  }
  if (is({"static", nullptr})) {
    if (auto e = need(false)) return *e;
    call.endpoint = ApiEndpoint::kStatic;
    call.name = p[1];
    return call;
  }
  if (is({"healthz"}) || is({"status"}) || is({"metrics"})) {
    if (auto e = need(false)) return *e;
    if (auto e = OnlyKeys(t, {})) return *e;
    call.endpoint = p[0] == "healthz"  ? ApiEndpoint::kHealthz
                    : p[0] == "status" ? ApiEndpoint::kStatus
                                       : ApiEndpoint::kMetrics;
    return call;
  }
  if (is({"runs"})) {
    if (auto e = need(false)) return *e;
    if (auto e = OnlyKeys(t, {"job", "limit"})) return *e;
    if (auto e = ReadName(t.query, "job", &call.job)) return *e;
    if (auto e = ReadLimit(t, &call)) return *e;
    call.endpoint = ApiEndpoint::kRuns;
    return call;
  }
  if (is({"runs", nullptr}) || is({"runs", nullptr, "log"})) {
    if (auto e = need(false)) return *e;
    if (auto r = IdOr400("run id", p[1], &call.id); std::holds_alternative<HttpResponse>(r)) {
      return r;
    }
    if (n == 2) {
      if (auto e = OnlyKeys(t, {})) return *e;
      call.endpoint = ApiEndpoint::kRun;
      return call;
    }
    if (auto e = OnlyKeys(t, {"tail_bytes"})) return *e;
    if (auto it = t.query.find("tail_bytes"); it != t.query.end()) {
      auto v = PositiveId(it->second);
      if (!v) return Bad("tail_bytes: " + Quoted(it->second) + " is not a positive integer");
      call.tail_bytes = *v;
    }
    call.endpoint = ApiEndpoint::kRunLog;
    return call;
  }
  if (n >= 2 && p[0] == "models") {
    if (is({"models", "production"})) {
      if (auto e = need(false)) return *e;
      if (auto e = OnlyKeys(t, {})) return *e;
      call.endpoint = ApiEndpoint::kProduction;
      return call;
    }
    if (is({"models", "versions"})) {
      if (auto e = need(false)) return *e;
      if (auto e = OnlyKeys(t, {"model", "segment", "limit"})) return *e;
      if (auto e = ReadName(t.query, "model", &call.model)) return *e;
      if (auto e = ReadSegment(t.query, &call.segment)) return *e;
      if (auto e = ReadLimit(t, &call)) return *e;
      call.endpoint = ApiEndpoint::kVersions;
      return call;
    }
    if (is({"models", "training-history"})) {
      if (auto e = need(false)) return *e;
      if (auto e = OnlyKeys(t, {"limit"})) return *e;
      if (auto e = ReadLimit(t, &call)) return *e;
      call.endpoint = ApiEndpoint::kTrainingHistory;
      return call;
    }
    if (is({"models", "retrain"})) {
      if (auto e = need(true)) return *e;
      if (auto e = OnlyKeys(t, {})) return *e;
      call.endpoint = ApiEndpoint::kRetrain;
      call.mutating = true;
      return ParseRetrain(request.body, call);
    }
    if (is({"models", "promote", nullptr})) {
      if (auto e = need(true)) return *e;
      if (auto e = OnlyKeys(t, {})) return *e;
      if (auto r = IdOr400("version", p[2], &call.id); std::holds_alternative<HttpResponse>(r)) {
        return r;
      }
      call.endpoint = ApiEndpoint::kPromote;
      call.mutating = true;
      return ParsePromote(request.body, call);
    }
    if (is({"models", "rollback", nullptr})) {
      if (auto e = need(true)) return *e;
      if (auto e = OnlyKeys(t, {"segment"})) return *e;
      if (!IsApiName(p[2])) return Bad("model " + Quoted(p[2]) + " is not a name");
      if (auto e = ReadSegment(t.query, &call.segment)) return *e;
      call.name = p[2];
      call.endpoint = ApiEndpoint::kRollback;
      call.mutating = true;
      return call;
    }
    if (is({"models", "compare", nullptr, nullptr})) {
      if (auto e = need(false)) return *e;
      if (auto e = OnlyKeys(t, {})) return *e;
      if (auto r = IdOr400("version", p[2], &call.id); std::holds_alternative<HttpResponse>(r)) {
        return r;
      }
      if (auto r = IdOr400("version", p[3], &call.other); std::holds_alternative<HttpResponse>(r)) {
        return r;
      }
      call.endpoint = ApiEndpoint::kCompare;
      return call;
    }
  }
  return JsonError(
      404, "no such endpoint: " + Quoted(request.target.substr(0, request.target.find('?'))));
}

}  // namespace

bool IsApiName(std::string_view name) { return name.size() <= 128 && IsValidName(name); }

bool IsApiSegment(std::string_view s) {
  if (s.empty() || s.size() > 128 || s.front() == '-') return false;
  if (s.find("..") != std::string_view::npos || s.find('/') != std::string_view::npos) {
    return false;
  }
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hex(text[i + 1]), lo = hex(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::variant<ApiCall, HttpResponse> ParseApiCall(const HttpRequest& request) {
  auto split = SplitTarget(request.target);
  if (auto* e = std::get_if<HttpResponse>(&split)) return *e;
  return Route(request, std::get<Target>(split));
}

std::optional<HttpResponse> CheckToken(const HttpRequest& request, const ApiCall& call,
                                       std::string_view token, bool loopback) {
  if (!call.mutating && loopback) return std::nullopt;
  constexpr std::string_view kBearer = "Bearer ";
  const std::string& auth = request.authorization;
  if (auth.empty()) {
    HttpResponse r =
        JsonError(401, call.mutating ? "this request needs the API token "
                                       "(Authorization: Bearer <state_dir/api.token>)"
                                     : "this API needs a token for every request "
                                       "(Authorization: Bearer <state_dir/api.token>)");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  const bool bearer = auth.size() > kBearer.size() && auth.compare(0, kBearer.size(), kBearer) == 0;
  const std::string_view given =
      bearer ? std::string_view(auth).substr(kBearer.size()) : std::string_view();
  // Constant time, so the token cannot be guessed byte by byte from response times.
  const bool match = !token.empty() && given.size() == token.size() &&
                     CRYPTO_memcmp(given.data(), token.data(), token.size()) == 0;
  if (match) return std::nullopt;
  HttpResponse r = JsonError(401, "wrong API token");
  r.headers.emplace_back("WWW-Authenticate", "Bearer error=\"invalid_token\"");
  return r;
}

}  // namespace mlcron
