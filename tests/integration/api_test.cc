// mlcrond's HTTP API against the real binaries (issue 7): status, runs and logs, the web
// page, the token, bad input of every kind, a slow client, 1,000 connections at once while
// an `every: 1s` job keeps its timing, /metrics, and the models endpoints over a real
// pipeline (retrain one segment in full, promote, rollback, compare).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <regex>

#include "daemon/version.h"
#include "tests/integration/http_test_util.h"
#include "tests/integration/pipeline_test_util.h"

namespace mlcron::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kApi = "api: {listen: 127.0.0.1:0, read_timeout: 1s, max_connections: 100}\n";
constexpr const char* kTick = R"(  - tier: 1
    name: ticker
    every: 1s
    jobs:
      - name: tick
        argv: [/bin/echo, hi]
)";

class ApiTest : public PipelineTest {
 protected:
  // Starts mlcrond and reads the API's address and token.
  void StartApi() {
    StartDaemon();
    // The address is copied out inside the lambda: a match points into the log text it
    // searched, which is gone once the lambda returns.
    ASSERT_TRUE(WaitFor([&] {
      const std::string log = ReadFile(daemon_log());
      std::smatch m;
      if (!std::regex_search(log, m, std::regex("api listening on http://([0-9.]+:[0-9]+)"))) {
        return false;
      }
      address_ = m[1];
      return true;
    })) << ReadFile(daemon_log());
    token_ = ReadFile(state_dir() / "api.token");
    ASSERT_EQ(token_.size(), 65u);
    token_.pop_back();
  }
  HttpReply Get(const std::string& target) { return Http(address_, "GET", target); }
  HttpReply Post(const std::string& target, const std::string& body = "") {
    return Http(address_, "POST", target, body, token_);
  }
  std::string Error(const HttpReply& r) {
    json j = r.json();
    return j.is_object() && j.contains("error") ? j["error"].get<std::string>() : r.body;
  }
  // Every run of tick, via the API.
  json TickRuns() { return Get("/runs?job=tick&limit=1000").json()["runs"]; }

  std::string address_, token_;
};

TEST_F(ApiTest, ServesStatusRunsLogsAndThePage) {
  WriteConfig(kTick, kApi);
  StartApi();
  HttpReply health = Get("/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, R"({"ok":true})");
  EXPECT_EQ(health.headers["content-type"], "application/json");

  ASSERT_TRUE(
      WaitFor([&] { return !TickRuns().empty() && TickRuns()[0]["status"] == "succeeded"; }));
  json status = Get("/status").json();
  EXPECT_EQ(status["version"], Version());
  EXPECT_EQ(status["config"], config_path().string());
  EXPECT_EQ(status["tz"], "UTC");
  ASSERT_EQ(status["tiers"].size(), 1u);
  EXPECT_EQ(status["tiers"][0]["name"], "ticker");
  const json& tick = status["tiers"][0]["jobs"][0];
  EXPECT_EQ(tick["name"], "tick");
  EXPECT_EQ(tick["kind"], "command");
  EXPECT_EQ(tick["after"], json::array());
  EXPECT_EQ(tick["paused"], false);
  EXPECT_TRUE(tick["next"].is_string()) << status.dump();
  EXPECT_TRUE(status["running"].is_array());
  EXPECT_TRUE(status["config_loaded_at"].get<std::string>().ends_with("+00:00"));

  json run = TickRuns()[0];
  for (const char* key : {"id", "job", "scheduled", "trigger", "attempt", "status", "reason",
                          "started", "ended", "duration_s", "exit_code", "signal", "lateness_s"}) {
    EXPECT_TRUE(run.contains(key)) << key;
  }
  const auto id = run["id"].get<std::int64_t>();
  EXPECT_EQ(run["trigger"], "schedule");
  EXPECT_EQ(run["exit_code"], 0);
  EXPECT_TRUE(run["signal"].is_null());
  EXPECT_GE(run["lateness_s"].get<double>(), 0.0);
  EXPECT_LT(run["lateness_s"].get<double>(), 0.5);
  EXPECT_EQ(Get("/runs/" + std::to_string(id)).json(), run);
  HttpReply log = Get("/runs/" + std::to_string(id) + "/log");
  EXPECT_EQ(log.status, 200);
  EXPECT_EQ(log.headers["content-type"], "text/plain; charset=utf-8");
  EXPECT_EQ(log.body, "hi\n");
  EXPECT_EQ(Get("/runs/" + std::to_string(id) + "/log?tail_bytes=2").body, "i\n");
  EXPECT_EQ(Get("/runs?limit=1").json()["runs"].size(), 1u);

  HttpReply page = Get("/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_EQ(page.body, ReadFile(fs::path(MLCRON_SOURCE_DIR) / "daemon/web/index.html"));
  EXPECT_EQ(Get("/static/index.html").body, page.body);
  StopDaemon();
}

TEST_F(ApiTest, BadInputGetsAClearErrorAndLosesNothing) {
  WriteConfig(kTick, kApi);
  StartApi();
  struct stat st {};
  ASSERT_EQ(::stat((state_dir() / "api.token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // Tokens.
  HttpReply none = Http(address_, "POST", "/models/retrain", R"({"model":"m"})");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.headers["www-authenticate"], "Bearer");
  HttpReply wrong =
      Http(address_, "POST", "/models/retrain", R"({"model":"m"})", std::string(64, '0'));
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(Error(wrong), "wrong API token");

  // Bodies.
  HttpReply malformed = Post("/models/retrain", R"({"model": "m",)");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_THAT(Error(malformed), HasSubstr("request body is not valid JSON"));
  HttpReply big = Post("/models/retrain", std::string(64 * 1024 + 1, ' '));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(Error(big), "request body larger than 65536 bytes");
  HttpReply unknown = Post("/models/retrain", R"({"model": "nope"})");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(Error(unknown), "no model \"nope\" in " + config_path().string());

  // Ids and names: checked, never used as paths.
  EXPECT_EQ(Get("/runs/999999").status, 404);
  EXPECT_EQ(Error(Get("/runs/999999")), "no run 999999");
  EXPECT_EQ(Get("/runs/999999/log").status, 404);
  EXPECT_EQ(Get("/runs/..%2F..%2Fetc%2Fpasswd").status, 400);
  EXPECT_EQ(Get("/runs/1/../../../etc/passwd").status, 404);
  EXPECT_EQ(Get("/static/..%2F..%2Fetc%2Fpasswd").status, 404);
  EXPECT_EQ(Get("/static/../mlcron.yaml").status, 404);
  EXPECT_EQ(Post("/models/promote/..%2F1").status, 400);
  EXPECT_EQ(Post("/models/rollback/..").status, 400);
  EXPECT_EQ(Get("/models/versions?model=../m").status, 400);
  EXPECT_EQ(Get("/models/compare/1/x").status, 400);
  EXPECT_EQ(Get("/nope").status, 404);
  EXPECT_EQ(Http(address_, "DELETE", "/runs/1").status, 405);

  // The daemon kept running and recording throughout.
  const size_t before = TickRuns().size();
  EXPECT_TRUE(WaitFor([&] { return TickRuns().size() > before; }));
  EXPECT_EQ(Get("/healthz").status, 200);
  StopDaemon();
}

TEST_F(ApiTest, SlowClientsAndAThousandConnectionsLeaveTheSchedulerOnTime) {
  WriteConfig(kTick, kApi);
  StartApi();
  ASSERT_TRUE(WaitFor([&] { return !TickRuns().empty(); }));
  const auto first_id = TickRuns()[0]["id"].get<std::int64_t>();

  // A client that never finishes its request is closed after read_timeout (1 s).
  const int slow = HttpConnect(address_);
  ASSERT_TRUE(HttpSendAll(slow, "GET /status HTTP/1.1\r\nHost: x\r\n"));
  const auto t0 = std::chrono::steady_clock::now();
  pollfd p{slow, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  char c;
  EXPECT_LE(::recv(slow, &c, 1, 0), 0);  // closed, not answered
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, std::chrono::milliseconds(900));
  EXPECT_LT(waited, std::chrono::milliseconds(3000));
  ::close(slow);

  // 1,000 connection attempts at once: each is served or refused with 503, none hangs.
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = std::max<rlim_t>(rl.rlim_cur, std::min<rlim_t>(rl.rlim_max, 4096));
  ::setrlimit(RLIMIT_NOFILE, &rl);
  constexpr int kClients = 1000;
  std::vector<int> fds;
  for (int i = 0; i < kClients; ++i) {
    const int fd = HttpConnect(address_);
    ASSERT_GE(fd, 0) << "connect " << i << ": " << std::strerror(errno);
    fds.push_back(fd);
  }
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  for (int fd : fds) HttpSendAll(fd, request);
  int ok = 0, busy = 0, other = 0;
  for (int fd : fds) {
    HttpReply r = HttpRead(fd, std::chrono::seconds(5));
    if (r.status == 200) {
      ++ok;
    } else if (r.status == 503) {
      ++busy;
      EXPECT_EQ(Error(r), "too many connections; try again later");
    } else {
      ++other;
    }
  }
  for (int fd : fds) ::close(fd);
  EXPECT_EQ(other, 0);
  EXPECT_EQ(ok + busy, kClients);
  EXPECT_GE(ok, 1);
  EXPECT_LE(ok, 100);  // max_connections
  EXPECT_GE(busy, kClients - 100);

  // One more tick, then: every tick since the start fired on time and none was missed.
  const size_t seen = TickRuns().size();
  ASSERT_TRUE(WaitFor([&] { return TickRuns().size() >= seen + 1; }));
  EXPECT_EQ(Get("/healthz").status, 200);
  for (const json& run : TickRuns()) {
    if (run["id"].get<std::int64_t>() < first_id || run["status"] == "running") continue;
    EXPECT_EQ(run["status"], "succeeded") << run.dump();
    EXPECT_LT(run["lateness_s"].get<double>(), 0.5) << run.dump();
  }

  HttpReply metrics = Get("/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(metrics.body, HasSubstr("mlcron_runs_total{job=\"tick\",status=\"succeeded\"} "));
  EXPECT_THAT(metrics.body, HasSubstr("mlcron_fire_lateness_seconds_bucket{le=\"+Inf\"} "));
  EXPECT_THAT(metrics.body, HasSubstr("mlcron_run_duration_seconds_count{job=\"tick\"} "));
  EXPECT_THAT(metrics.body, HasSubstr("mlcron_training_seconds_total{kind=\"full\"} 0\n"));
  EXPECT_THAT(metrics.body,
              HasSubstr(std::string("mlcron_build_info{version=\"") + Version() + "\"} 1\n"));
  StopDaemon();
}

// Version ids of model m's segment, newest first, with their status.
std::vector<std::pair<std::int64_t, std::string>> Versions(const json& reply) {
  std::vector<std::pair<std::int64_t, std::string>> out;
  for (const json& v : reply["versions"]) out.emplace_back(v["version"], v["status"]);
  return out;
}

TEST_F(ApiTest, ModelsRetrainOneSegmentPromoteRollbackAndCompare) {
  WriteData();
  WriteConfig(kTiers, std::string(kModels) + kApi);
  RunResult pipeline = MlcronC({"run", "--all"});
  ASSERT_EQ(pipeline.exit_code, 0) << pipeline << Log("retrain_m");
  StartApi();

  json production = Get("/models/production").json();
  ASSERT_EQ(production["models"].size(), 2u) << production.dump();
  const json& a = production["models"][0];
  EXPECT_EQ(a["model"], "m");
  EXPECT_EQ(a["segment"], "A");
  EXPECT_EQ(a["kind"], "full");
  EXPECT_EQ(a["status"], "production");
  EXPECT_EQ(a["metric"], "log_loss");
  EXPECT_TRUE(a["value"].is_number()) << a.dump();
  EXPECT_EQ(production["models"][1]["segment"], "B");
  const std::int64_t a1 = a["version"];

  json history = Get("/models/training-history?limit=10").json();
  ASSERT_EQ(history["decisions"].size(), 2u) << history.dump();
  EXPECT_EQ(history["decisions"][0]["decision"], "full");

  // 60 new labelled rows per segment: enough for a holdout, and B would retrain too if the
  // request did not name A.
  {
    auto db = SqliteDb::Open((state_dir() / "data.db").string(), "data", std::chrono::seconds(5));
    ASSERT_TRUE(db.ok()) << db.message();
    for (int i = 0; i < 120; ++i) {
      const double f0 = ((i * 37) % 100) / 100.0, f1 = ((i * 61) % 100) / 100.0;
      auto st = (*db)->Prepare("INSERT INTO feats VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5 + ?6)");
      st.Bind(1, 10000 + i).Bind(2, i < 60 ? "A" : "B");
      st.Bind(3, "2024-02-" + std::to_string(11 + (i % 60) / 5)).Bind(4, (f0 + f1 > 1) ? 1.0 : 0.0);
      st.Bind(5, f0).Bind(6, f1);
      ASSERT_TRUE(st.Run().ok());
    }
  }
  // Retrain segment A only, in full.
  HttpReply retrain = Post("/models/retrain", R"({"model": "m", "segment": "A", "full": true})");
  ASSERT_EQ(retrain.status, 202) << retrain.body;
  const json queued = retrain.json();
  EXPECT_EQ(queued["job"], "retrain_m");
  ASSERT_TRUE(queued["run_id"].is_number()) << retrain.body;
  const std::string run = "/runs/" + std::to_string(queued["run_id"].get<std::int64_t>());
  ASSERT_TRUE(WaitFor([&] { return Get(run).json()["status"] != "running"; }));
  EXPECT_EQ(Get(run).json()["status"], "succeeded") << Get(run + "/log").body;
  EXPECT_EQ(Get(run).json()["trigger"], "api");
  const std::string log = Get(run + "/log").body;
  EXPECT_THAT(log, HasSubstr("m [A]"));
  EXPECT_THAT(log, Not(HasSubstr("m [B]")));
  EXPECT_THAT(log, HasSubstr("MLCRON_FORCE_FULL=1"));

  auto versions = Versions(Get("/models/versions?model=m&segment=A").json());
  ASSERT_EQ(versions.size(), 2u) << log;
  const std::int64_t a2 = versions[0].first;
  EXPECT_GT(a2, a1);
  EXPECT_EQ(Versions(Get("/models/versions?model=m&segment=B").json()).size(), 1u);

  // Promote the new version (forced if the gate rejected it), then roll back.
  if (versions[0].second != "production") {
    HttpReply promoted =
        Post("/models/promote/" + std::to_string(a2), R"({"force": true, "reason": "api test"})");
    ASSERT_EQ(promoted.status, 200) << promoted.body;
    EXPECT_EQ(promoted.json()["to"], a2);
    EXPECT_EQ(promoted.json()["actor"], "api");
  }
  HttpReply again = Post("/models/promote/" + std::to_string(a2));
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(Error(again), "version " + std::to_string(a2) + " is already production");
  HttpReply rolled = Post("/models/rollback/m?segment=A");
  ASSERT_EQ(rolled.status, 200) << rolled.body;
  EXPECT_EQ(rolled.json()["from"], a2);
  EXPECT_EQ(rolled.json()["to"], a1);
  EXPECT_EQ(rolled.json()["actor"], "api");
  EXPECT_EQ(Get("/models/production").json()["models"][0]["version"], a1);
  // The audit trail names the actor "api" for the API's moves.
  json audit = json::parse(MlcronC({"models", "audit", "m", "--segment", "A", "--json"}).out,
                           nullptr, false);
  ASSERT_TRUE(audit.is_array() && !audit.empty()) << audit.dump();
  EXPECT_EQ(audit[0]["action"], "rollback");
  EXPECT_EQ(audit[0]["actor"], "api");

  HttpReply need_segment = Post("/models/rollback/m");
  EXPECT_EQ(need_segment.status, 400);
  EXPECT_THAT(Error(need_segment), HasSubstr("name one with --segment"));
  EXPECT_EQ(Post("/models/promote/999").status, 404);
  EXPECT_EQ(Error(Post("/models/promote/999")), "no version 999");

  HttpReply compare = Get("/models/compare/" + std::to_string(a1) + "/" + std::to_string(a2));
  ASSERT_EQ(compare.status, 200) << compare.body;
  EXPECT_TRUE(compare.json().is_object());
  EXPECT_EQ(Get("/models/compare/" + std::to_string(a1) + "/999").status, 404);

  HttpReply metrics = Get("/metrics");
  EXPECT_THAT(metrics.body,
              HasSubstr("mlcron_model_production_version{model=\"m\",segment=\"A\"} " +
                        std::to_string(a1) + "\n"));
  EXPECT_THAT(
      metrics.body,
      HasSubstr("mlcron_model_primary_metric{model=\"m\",segment=\"B\",metric=\"log_loss\"} "));
  StopDaemon();
}

}  // namespace
}  // namespace mlcron::testing
