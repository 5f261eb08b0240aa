#include "daemon/duration.h"

#include <cctype>
#include <limits>

namespace mlcron {
namespace {

bool UnitSeconds(char unit, std::int64_t* out) {
  switch (unit) {
    case 's':
      *out = 1;
      return true;
    case 'm':
      *out = 60;
      return true;
    case 'h':
      *out = 3600;
      return true;
    case 'd':
      *out = 86400;
      return true;
    case 'w':
      *out = 7 * 86400;
      return true;
    case 'y':
      *out = 365 * 86400;
      return true;
    default:
      return false;
  }
}

}  // namespace

Result<std::chrono::seconds> ParseDuration(std::string_view text) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  if (text.empty()) return Status::Error("empty duration");
  if (text.front() == '-') return Status::Error(quoted + " is negative; durations must be >= 0");
  if (text == "0") return std::chrono::seconds(0);
  std::int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) {
      return Status::Error(quoted + " is not a duration (expected e.g. 90s, 15m, 6h, 1d)");
    }
    std::int64_t value = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (value > (std::numeric_limits<std::int64_t>::max() - 9) / 10) {
        return Status::Error(quoted + " is too large");
      }
      value = value * 10 + (text[i] - '0');
      ++i;
    }
    std::int64_t unit = 0;
    if (i == text.size() || !UnitSeconds(text[i], &unit)) {
      return Status::Error(quoted + " has no unit (use s, m, h, d, w or y)");
    }
    ++i;
    if (value > std::numeric_limits<std::int64_t>::max() / unit / 2) {
      return Status::Error(quoted + " is too large");
    }
    total += value * unit;
  }
  return std::chrono::seconds(total);
}

Result<std::uint64_t> ParseSize(std::string_view text) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  size_t i = 0;
  std::uint64_t value = 0;
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) {
    return Status::Error(quoted + " is not a size (expected e.g. 512M or 2G)");
  }
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    if (value > std::numeric_limits<std::uint64_t>::max() / 10 - 9) {
      return Status::Error(quoted + " is too large");
    }
    value = value * 10 + static_cast<std::uint64_t>(text[i] - '0');
    ++i;
  }
  std::string_view unit = text.substr(i);
  int shift = 0;
  if (!unit.empty()) {
    switch (std::toupper(static_cast<unsigned char>(unit[0]))) {
      case 'B':
        shift = 0;
        break;
      case 'K':
        shift = 10;
        break;
      case 'M':
        shift = 20;
        break;
      case 'G':
        shift = 30;
        break;
      case 'T':
        shift = 40;
        break;
      default:
        return Status::Error(quoted + " has an unknown unit (use K, M, G or T)");
    }
    std::string_view rest = unit.substr(1);
    if (!(rest.empty() || rest == "B" || rest == "iB") || (unit[0] == 'B' && !rest.empty())) {
      return Status::Error(quoted + " has an unknown unit (use K, M, G or T)");
    }
  }
  if (shift > 0 && value > (std::numeric_limits<std::uint64_t>::max() >> shift)) {
    return Status::Error(quoted + " is too large");
  }
  return value << shift;
}

std::string FormatDuration(std::chrono::seconds d) {
  const std::int64_t s = d.count();
  if (s == 0) return "0s";
  if (s % 86400 == 0) return std::to_string(s / 86400) + "d";
  if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

}  // namespace mlcron
