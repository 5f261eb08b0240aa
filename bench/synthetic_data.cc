#include "bench/synthetic_data.h"

#include <date/date.h>
#include <fmt/format.h>

#include <cmath>
#include <numbers>
#include <random>
#include <vector>

namespace mlcron::bench {
namespace {

// std::mt19937_64's sequence is fixed by the standard; the transforms below are ours, so the
// rows are the same with any standard library.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }  // [0, 1)
  std::uint64_t Below(std::uint64_t n) { return engine_() % n; }
  double Normal() {  // Box-Muller; the second value is dropped to keep the stream simple
    const double u1 = 1.0 - Uniform();  // (0, 1]: log stays finite
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

 private:
  std::mt19937_64 engine_;
};

std::string Ident(const std::string& name) { return "\"" + name + "\""; }

}  // namespace

Status WriteSyntheticRows(SqliteDb& db, const std::string& table, std::int64_t rows, int features,
                          std::int64_t start_unix, int rows_per_day, std::uint64_t seed,
                          double drift) {
  if (features < 1 || rows < 0 || rows_per_day < 1) {
    return Status::Error("synthetic rows: need features >= 1, rows >= 0, rows_per_day >= 1");
  }
  std::string create = "CREATE TABLE IF NOT EXISTS " + Ident(table) +
                       "(id INTEGER PRIMARY KEY, seg TEXT, day TEXT, label REAL";
  std::string insert = "INSERT INTO " + Ident(table) + "(seg, day, label";
  std::string params = "?1, ?2, ?3";
  for (int j = 0; j < features; ++j) {
    create += fmt::format(", f{} REAL", j);
    insert += fmt::format(", f{}", j);
    params += fmt::format(", ?{}", j + 4);
  }
  create += ")";
  insert += ") VALUES (" + params + ")";
  if (Status s = db.Exec(create); !s.ok()) return s;

  const double bias[kSyntheticSegments] = {-0.5, 0.0, 0.5, 1.0};
  const double scale = 1.5 / std::sqrt(std::max(1.0, features / 2.0));
  const date::sys_days first_day =
      date::floor<date::days>(date::sys_seconds{std::chrono::seconds(start_unix)});
  Rng rng(seed);
  std::vector<double> f(static_cast<size_t>(features));
  std::vector<double> w(static_cast<size_t>(features));
  return db.Transaction([&]() -> Status {
    std::int64_t day_index = -1;
    std::string day;
    for (std::int64_t i = 0; i < rows; ++i) {
      if (i / rows_per_day != day_index) {
        day_index = i / rows_per_day;
        day = date::format("%F", first_day + date::days(day_index));
        for (int j = 0; j < features; ++j) {
          w[j] = std::cos(2.0 * std::numbers::pi * j / features + drift * day_index);
        }
      }
      const auto seg = static_cast<int>(rng.Below(kSyntheticSegments));
      double z = 0;
      for (int j = 0; j < features; ++j) {
        const bool missing = rng.Uniform() < kSyntheticNullRate;
        f[j] = missing ? std::nan("") : rng.Normal();
        if (!missing) z += w[j] * f[j];
      }
      const double p = 1.0 / (1.0 + std::exp(-(bias[seg] + scale * z)));
      const double label = rng.Uniform() < p ? 1.0 : 0.0;

      SqliteStatement st = db.Prepare(insert);
      st.Bind(1, fmt::format("s{}", seg)).Bind(2, std::string_view(day)).Bind(3, label);
      for (int j = 0; j < features; ++j) {
        if (std::isnan(f[j])) {
          st.BindNull(j + 4);
        } else {
          st.Bind(j + 4, f[j]);
        }
      }
      if (Status s = st.Run(); !s.ok()) return s;
    }
    return Status::Ok();
  });
}

}  // namespace mlcron::bench
