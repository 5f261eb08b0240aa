// The `api:` config section (errors name file, line and field) and the API token file.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "daemon/api_token.h"
#include "daemon/config_loader.h"

namespace mlcron {
namespace {

constexpr const char* kTiers =
    "tiers:\n  - {tier: 1, name: t, every: 1h, jobs: [{name: a, argv: [/bin/true]}]}\n";

LoadResult Load(const std::string& api) {
  return LoadConfigText(api + kTiers, "/etc/mlcron/mlcron.yaml");
}

std::string Errors(const std::string& api) {
  LoadResult r = Load(api);
  return r.ok() ? "" : r.ErrorText();
}

TEST(ApiConfigTest, ReadsListenAndSocket) {
  LoadResult r = Load("api: {listen: 127.0.0.1:8765}\n");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  const ApiConfig& api = r.config->api;
  EXPECT_TRUE(api.enabled);
  EXPECT_EQ(api.host, "127.0.0.1");
  EXPECT_EQ(api.port, 8765);
  EXPECT_TRUE(api.loopback());
  EXPECT_EQ(api.read_timeout, std::chrono::seconds(10));
  EXPECT_EQ(api.max_connections, 512);
  EXPECT_EQ(api.ToString(), "127.0.0.1:8765");

  r = Load("api: {listen: \"[::]:9000\", read_timeout: 5s, max_connections: 64}\n");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  EXPECT_EQ(r.config->api.host, "::");
  EXPECT_FALSE(r.config->api.loopback());
  EXPECT_EQ(r.config->api.ToString(), "[::]:9000");
  EXPECT_EQ(r.config->api.read_timeout, std::chrono::seconds(5));
  EXPECT_EQ(r.config->api.max_connections, 64);

  r = Load("api: {listen: localhost:1}\n");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  EXPECT_EQ(r.config->api.host, "127.0.0.1");

  r = Load("api: {socket: run/api.sock}\n");
  ASSERT_TRUE(r.ok()) << r.ErrorText();
  EXPECT_EQ(r.config->api.socket_path, "/etc/mlcron/run/api.sock");
  EXPECT_TRUE(r.config->api.loopback());

  r = Load("");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.config->api.enabled);
}

TEST(ApiConfigTest, ErrorsNameFileLineAndField) {
  EXPECT_EQ(Errors("api: {listen: 127.0.0.1}\n"),
            "/etc/mlcron/mlcron.yaml:1:15: api.listen: \"127.0.0.1\" is not HOST:PORT (e.g. "
            "127.0.0.1:8765)\n");
  EXPECT_EQ(Errors("api:\n  listen: example.com:80\n"),
            "/etc/mlcron/mlcron.yaml:2:11: api.listen: \"example.com:80\": \"example.com\" is not "
            "an IP address (or localhost)\n");
  EXPECT_EQ(Errors("api: {listen: 127.0.0.1:70000}\n"),
            "/etc/mlcron/mlcron.yaml:1:15: api.listen: \"127.0.0.1:70000\": \"70000\" is not a "
            "port (0-65535)\n");
  EXPECT_EQ(Errors("api: {listen: 127.0.0.1:1, socket: /x}\n"),
            "/etc/mlcron/mlcron.yaml:1:36: api: give listen: or socket:, not both\n");
  EXPECT_EQ(Errors("api: {}\n"),
            "/etc/mlcron/mlcron.yaml:1:6: api: missing required key \"listen\" (HOST:PORT) or "
            "\"socket\" (a path)\n");
  EXPECT_EQ(Errors("api: {listen: 127.0.0.1:1, read_timeout: 0s}\n"),
            "/etc/mlcron/mlcron.yaml:1:42: api.read_timeout: must be between 1s and 1h\n");
  EXPECT_EQ(Errors("api: {listen: 127.0.0.1:1, max_conections: 5}\n")
                .find("/etc/mlcron/mlcron.yaml:1:28: api: unknown key \"max_conections\""),
            0u)
      << Errors("api: {listen: 127.0.0.1:1, max_conections: 5}\n");
}

TEST(ApiTokenTest, CreatedOnce0600AndReused) {
  char pattern[] = "/tmp/mlcron-token-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const std::string dir = pattern;
  auto first = LoadOrCreateApiToken(dir);
  ASSERT_TRUE(first.ok()) << first.message();
  EXPECT_EQ(first->size(), 64u);
  EXPECT_EQ(first->find_first_not_of("0123456789abcdef"), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat((dir + "/api.token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = LoadOrCreateApiToken(dir);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *first);

  ::chmod((dir + "/api.token").c_str(), 0644);
  auto open = LoadOrCreateApiToken(dir);
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.message(), dir +
                                "/api.token: readable by others (mode 644); chmod 600 it or "
                                "delete it for a new token");
  ::chmod((dir + "/api.token").c_str(), 0600);
  std::ofstream(dir + "/api.token") << "short\n";
  auto bad = LoadOrCreateApiToken(dir);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message(), dir +
                               "/api.token: line 1: not a token of 64 hex digits; delete the "
                               "file for a new token");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mlcron
