// Parsing and checking of one HTTP API request (issue 7, /work/wt/API_CONTRACT.md): which
// endpoint it names, its validated parameters, and whether its token suffices. Pure
// functions of the request, so every rule is tested from a table; nothing here touches the
// scheduler, the database or a path on disk (ids and names are checked, never used as paths).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "daemon/http_server.h"

namespace mlcron {

enum class ApiEndpoint {
  kHealthz,
  kStatus,
  kMetrics,
  kRuns,
  kRun,
  kRunLog,
  kProduction,
  kVersions,
  kTrainingHistory,
  kRetrain,
  kPromote,
  kRollback,
  kCompare,
  kIndex,   // "/": the web page
  kStatic,  // "/static/<name>"
};

struct ApiCall {
  ApiEndpoint endpoint = ApiEndpoint::kHealthz;
  bool mutating = false;             // POST: needs the token, audited as actor "api"
  std::int64_t id = 0;               // run id, version id, compare's A
  std::int64_t other = 0;            // compare's B
  std::string name;                  // static asset name; rollback's model
  std::optional<std::string> job;    // /runs?job=
  std::optional<std::string> model;  // /models/versions?model=, retrain's model
  std::optional<std::string> segment;
  int limit = 50;
  std::int64_t tail_bytes = kDefaultLogTail;
  bool full = false;   // retrain
  bool force = false;  // promote
  std::string reason;  // promote

  static constexpr int kMaxLimit = 1000;
  static constexpr std::int64_t kDefaultLogTail = 1 << 20;
};

// The endpoint and its parameters, or the error response (400, 404, 405).
std::variant<ApiCall, HttpResponse> ParseApiCall(const HttpRequest& request);

// nullopt when the request may proceed; otherwise 401. POST always needs the token; when the
// API is bound beyond loopback every request does.
std::optional<HttpResponse> CheckToken(const HttpRequest& request, const ApiCall& call,
                                       std::string_view token, bool loopback);

// Names of jobs and models: letters, digits, "_", ".", "-", not "." or "..".
bool IsApiName(std::string_view name);
// Segment values are data (a league code, say): 1-128 bytes, no control characters, no "/",
// no "..", not starting with "-".
bool IsApiSegment(std::string_view segment);
// "%2F" → "/", "+" → " " (query only). nullopt on a bad escape.
std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space);

}  // namespace mlcron
