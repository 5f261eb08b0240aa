#include "cli/models_common.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "cli/cli_common.h"
#include "daemon/time_format.h"

namespace mlcron {

namespace {

// Columns on a terminal: UTF-8 code points, not bytes, so "Österreichische Bundesliga" lines
// up with ASCII names (every character here is one column wide).
size_t Columns(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], Columns(row[i]));
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - Columns(row[i]) + 2, ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);
    std::cout << line << "\n";
  }
}

std::string When(std::int64_t unix_seconds, const Config& config) {
  return FormatInstant(Instant(std::chrono::seconds(unix_seconds)), config.tz);
}

nlohmann::json ValueJson(const SqlValue& v) {
  switch (v.type) {
    case SqlValue::Type::kNull:
      return nullptr;
    case SqlValue::Type::kInteger:
      return v.i;
    case SqlValue::Type::kReal:
      return v.r;
    case SqlValue::Type::kText:
      return v.s;
  }
  return nullptr;
}

std::unique_ptr<Registry> OpenRegistryIfPresent(const Config& config, bool* absent,
                                                std::string_view command) {
  std::error_code ec;
  *absent = !std::filesystem::exists(config.state_dir + "/mlcron.db", ec);
  if (*absent || !RunAsStateOwner(config)) return nullptr;
  auto registry = Registry::Open(config);
  if (!registry.ok()) {
    std::cerr << command << ": " << registry.message() << "\n";
    return nullptr;
  }
  return std::move(registry).value();
}

const ModelConfig* FindModelOrPrint(const Config& config, const std::string& name,
                                    std::string_view command) {
  const ModelConfig* model = config.FindModel(name);
  if (model == nullptr) {
    std::cerr << command << ": no model \"" << name << "\" in " << config.path << "\n";
  }
  return model;
}

std::string CurrentActor() {
  const uid_t uid = ::geteuid();
  if (uid == 0) {
    const char* sudo_user = std::getenv("SUDO_USER");
    if (sudo_user != nullptr && *sudo_user != '\0') return sudo_user;
  }
  const passwd* pw = ::getpwuid(uid);
  return pw != nullptr ? std::string(pw->pw_name) : "uid " + std::to_string(uid);
}

}  // namespace mlcron
