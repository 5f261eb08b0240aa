// The API's routing, parameter validation and token rules (daemon/api_request.h), from
// tables of requests: exact endpoints and parameters, exact error statuses and messages.
#include "daemon/api_request.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace mlcron {
namespace {

HttpRequest Req(std::string method, std::string target, std::string body = "") {
  HttpRequest r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.body = std::move(body);
  return r;
}

ApiCall Ok(const HttpRequest& r) {
  auto parsed = ParseApiCall(r);
  if (auto* e = std::get_if<HttpResponse>(&parsed)) {
    ADD_FAILURE() << r.method << " " << r.target << " -> " << e->status << " " << e->body;
    return {};
  }
  return std::get<ApiCall>(parsed);
}

// The status and error message of a refused request.
std::pair<int, std::string> Err(const HttpRequest& r) {
  auto parsed = ParseApiCall(r);
  if (!std::holds_alternative<HttpResponse>(parsed)) {
    ADD_FAILURE() << r.method << " " << r.target << " was accepted";
    return {0, ""};
  }
  const auto& e = std::get<HttpResponse>(parsed);
  return {e.status, nlohmann::json::parse(e.body)["error"].get<std::string>()};
}

TEST(ApiRequestTest, RoutesEveryEndpoint) {
  struct Case {
    const char* method;
    const char* target;
    ApiEndpoint endpoint;
  };
  const Case cases[] = {
      {"GET", "/healthz", ApiEndpoint::kHealthz},
      {"GET", "/status", ApiEndpoint::kStatus},
      {"GET", "/metrics", ApiEndpoint::kMetrics},
      {"GET", "/runs", ApiEndpoint::kRuns},
      {"GET", "/runs/", ApiEndpoint::kRuns},
      {"GET", "/runs/12", ApiEndpoint::kRun},
      {"GET", "/runs/12/log", ApiEndpoint::kRunLog},
      {"GET", "/models/production", ApiEndpoint::kProduction},
      {"GET", "/models/versions", ApiEndpoint::kVersions},
      {"GET", "/models/training-history", ApiEndpoint::kTrainingHistory},
      {"POST", "/models/retrain", ApiEndpoint::kRetrain},
      {"POST", "/models/promote/41", ApiEndpoint::kPromote},
      {"POST", "/models/rollback/result", ApiEndpoint::kRollback},
      {"GET", "/models/compare/40/41", ApiEndpoint::kCompare},
      {"GET", "/", ApiEndpoint::kIndex},
      {"GET", "/static/app.js", ApiEndpoint::kStatic},
  };
  for (const Case& c : cases) {
    const std::string body = c.endpoint == ApiEndpoint::kRetrain ? R"({"model":"result"})" : "";
    ApiCall call = Ok(Req(c.method, c.target, body));
    EXPECT_EQ(call.endpoint, c.endpoint) << c.target;
    EXPECT_EQ(call.mutating, std::string(c.method) == "POST") << c.target;
  }
}

TEST(ApiRequestTest, ReadsParameters) {
  ApiCall runs = Ok(Req("GET", "/runs?job=aggregate&limit=7"));
  EXPECT_EQ(runs.job, "aggregate");
  EXPECT_EQ(runs.limit, 7);
  EXPECT_EQ(Ok(Req("GET", "/runs")).limit, 50);
  EXPECT_EQ(Ok(Req("GET", "/runs?limit=1000")).limit, 1000);

  ApiCall versions = Ok(Req("GET", "/models/versions?model=result&segment=Premier+League"));
  EXPECT_EQ(versions.model, "result");
  EXPECT_EQ(versions.segment, "Premier League");
  EXPECT_EQ(Ok(Req("GET", "/models/versions?segment=E%300")).segment, "E00");

  ApiCall log = Ok(Req("GET", "/runs/12/log?tail_bytes=100"));
  EXPECT_EQ(log.id, 12);
  EXPECT_EQ(log.tail_bytes, 100);
  EXPECT_EQ(Ok(Req("GET", "/runs/12/log")).tail_bytes, 1 << 20);

  ApiCall compare = Ok(Req("GET", "/models/compare/40/41"));
  EXPECT_EQ(compare.id, 40);
  EXPECT_EQ(compare.other, 41);

  ApiCall rollback = Ok(Req("POST", "/models/rollback/result?segment=E0"));
  EXPECT_EQ(rollback.name, "result");
  EXPECT_EQ(rollback.segment, "E0");

  ApiCall retrain =
      Ok(Req("POST", "/models/retrain", R"({"model": "result", "segment": "E1", "full": true})"));
  EXPECT_EQ(retrain.model, "result");
  EXPECT_EQ(retrain.segment, "E1");
  EXPECT_TRUE(retrain.full);
  ApiCall plain = Ok(Req("POST", "/models/retrain", R"({"model": "result"})"));
  EXPECT_FALSE(plain.segment.has_value());
  EXPECT_FALSE(plain.full);

  ApiCall promote =
      Ok(Req("POST", "/models/promote/2", R"({"reason": "cup week", "force": true})"));
  EXPECT_EQ(promote.id, 2);
  EXPECT_EQ(promote.reason, "cup week");
  EXPECT_TRUE(promote.force);
  EXPECT_EQ(Ok(Req("POST", "/models/promote/2", "")).reason, "");
}

TEST(ApiRequestTest, RefusesBadIdsAndNamesWithoutTouchingPaths) {
  using P = std::pair<int, std::string>;
  EXPECT_EQ(Err(Req("GET", "/runs/abc")), P(400, "run id \"abc\" is not a positive integer"));
  EXPECT_EQ(Err(Req("GET", "/runs/0")), P(400, "run id \"0\" is not a positive integer"));
  EXPECT_EQ(Err(Req("GET", "/runs/..%2F..%2Fetc%2Fpasswd")),
            P(400, "run id \"../../etc/passwd\" is not a positive integer"));
  EXPECT_EQ(Err(Req("GET", "/runs/../etc/passwd")),
            P(404, "no such endpoint: \"/runs/../etc/passwd\""));
  EXPECT_EQ(Err(Req("GET", "/runs/9999999999999999999")),
            P(400, "run id \"9999999999999999999\" is not a positive integer"));
  EXPECT_EQ(Err(Req("POST", "/models/promote/..")),
            P(400, "version \"..\" is not a positive integer"));
  EXPECT_EQ(Err(Req("POST", "/models/rollback/..")), P(400, "model \"..\" is not a name"));
  EXPECT_EQ(Err(Req("POST", "/models/rollback/a%2Fb")), P(400, "model \"a/b\" is not a name"));
  EXPECT_EQ(Err(Req("GET", "/runs?job=../x")),
            P(400, "job: \"../x\" is not a name (letters, digits, \"_\", \".\", \"-\")"));
  EXPECT_EQ(Err(Req("GET", "/models/versions?segment=..%2Fx")),
            P(400, "segment: \"../x\" is not valid"));
  EXPECT_EQ(Err(Req("GET", "/models/versions?segment=--json")),
            P(400, "segment: \"--json\" is not valid"));
  EXPECT_EQ(Err(Req("GET", "/runs?limit=0")),
            P(400, "limit: \"0\" is not an integer from 1 to 1000"));
  EXPECT_EQ(Err(Req("GET", "/runs?limit=1001")),
            P(400, "limit: \"1001\" is not an integer from 1 to 1000"));
  EXPECT_EQ(Err(Req("GET", "/runs?limit=5&limit=6")),
            P(400, "query parameter \"limit\" given twice"));
  EXPECT_EQ(Err(Req("GET", "/runs?jbo=a")), P(400, "unknown query parameter \"jbo\""));
  EXPECT_EQ(Err(Req("GET", "/runs/%zz")), P(400, "bad percent-escape in the path"));
  EXPECT_EQ(Err(Req("GET", "/nope")), P(404, "no such endpoint: \"/nope\""));
  EXPECT_EQ(Err(Req("GET", "/models/nope")), P(404, "no such endpoint: \"/models/nope\""));
  EXPECT_EQ(Err(Req("GET", "relative")), P(400, "request target must start with \"/\""));
}

TEST(ApiRequestTest, RefusesBadBodies) {
  using P = std::pair<int, std::string>;
  auto [status, message] = Err(Req("POST", "/models/retrain", "{\"model\": "));
  EXPECT_EQ(status, 400);
  EXPECT_TRUE(message.starts_with("request body is not valid JSON: [json.exception.parse_error"))
      << message;
  EXPECT_EQ(Err(Req("POST", "/models/retrain", "[1]")),
            P(400, "request body must be a JSON object"));
  EXPECT_EQ(Err(Req("POST", "/models/retrain", "{}")),
            P(400, "body: \"model\" (a string) is required"));
  EXPECT_EQ(Err(Req("POST", "/models/retrain", R"({"model": "a", "ful": true})")),
            P(400, "unknown key \"ful\" in the body (model, segment, full)"));
  EXPECT_EQ(Err(Req("POST", "/models/retrain", R"({"model": "a", "full": "yes"})")),
            P(400, "full: must be true or false"));
  EXPECT_EQ(Err(Req("POST", "/models/retrain", R"({"model": "../a"})")),
            P(400, "model: \"../a\" is not a name"));
  EXPECT_EQ(Err(Req("POST", "/models/promote/3", R"({"force": 1})")),
            P(400, "body: \"force\" is not allowed here (reason: a string, force: true/false)"));
}

TEST(ApiRequestTest, WrongMethodIs405WithAllow) {
  auto parsed = ParseApiCall(Req("GET", "/models/retrain"));
  ASSERT_TRUE(std::holds_alternative<HttpResponse>(parsed));
  const auto& r = std::get<HttpResponse>(parsed);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.body, R"({"error":"method not allowed; use POST"})");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0], std::make_pair(std::string("Allow"), std::string("POST")));
  EXPECT_EQ(Err(Req("POST", "/status")).first, 405);
  EXPECT_EQ(Err(Req("DELETE", "/runs/1")).first, 405);
  EXPECT_EQ(Err(Req("HEAD", "/status")).first, 405);
}

TEST(ApiRequestTest, TokenRules) {
  const std::string token(64, 'a');
  ApiCall get = Ok(Req("GET", "/status"));
  ApiCall post = Ok(Req("POST", "/models/retrain", R"({"model":"m"})"));
  HttpRequest none = Req("GET", "/status");
  HttpRequest good = none;
  good.authorization = "Bearer " + token;
  HttpRequest wrong = none;
  wrong.authorization = "Bearer " + std::string(64, 'b');
  HttpRequest shorter = none;
  shorter.authorization = "Bearer " + std::string(63, 'a');
  HttpRequest basic = none;
  basic.authorization = "Basic " + token;

  // Loopback: GET is open, POST needs the token.
  EXPECT_FALSE(CheckToken(none, get, token, true).has_value());
  auto missing = CheckToken(none, post, token, true);
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->status, 401);
  EXPECT_EQ(
      missing->body,
      R"x({"error":"this request needs the API token (Authorization: Bearer <state_dir/api.token>)"})x");
  EXPECT_FALSE(CheckToken(good, post, token, true).has_value());
  for (const HttpRequest* bad : {&wrong, &shorter, &basic}) {
    auto refused = CheckToken(*bad, post, token, true);
    ASSERT_TRUE(refused.has_value()) << bad->authorization;
    EXPECT_EQ(refused->status, 401);
    EXPECT_EQ(refused->body, R"({"error":"wrong API token"})");
  }
  // Beyond loopback every request needs it.
  auto open_get = CheckToken(none, get, token, false);
  ASSERT_TRUE(open_get.has_value());
  EXPECT_EQ(open_get->status, 401);
  EXPECT_FALSE(CheckToken(good, get, token, false).has_value());
  EXPECT_TRUE(CheckToken(wrong, get, token, false).has_value());
}

TEST(ApiRequestTest, NamesAndSegments) {
  EXPECT_TRUE(IsApiName("train_result-2.v1"));
  EXPECT_FALSE(IsApiName(""));
  EXPECT_FALSE(IsApiName(".."));
  EXPECT_FALSE(IsApiName("a/b"));
  EXPECT_FALSE(IsApiName(std::string(129, 'a')));
  EXPECT_TRUE(IsApiSegment("Premier League"));
  EXPECT_TRUE(IsApiSegment("E0"));
  EXPECT_FALSE(IsApiSegment(""));
  EXPECT_FALSE(IsApiSegment("a..b"));
  EXPECT_FALSE(IsApiSegment("-x"));
  EXPECT_FALSE(IsApiSegment("a\nb"));
  EXPECT_EQ(PercentDecode("a%20b+c", true), "a b c");
  EXPECT_EQ(PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(PercentDecode("%4", false), std::nullopt);
  EXPECT_EQ(PercentDecode("%", false), std::nullopt);
}

}  // namespace
}  // namespace mlcron
