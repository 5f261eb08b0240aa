// import_bench: generates match-like CSV files of a given size on the fly, imports each into a
// fresh data database with ImportCsv, and prints wall time, rows/s and the process's peak RSS
// (getrusage ru_maxrss). The small file runs first and the large one second, so the ratio of
// the two peaks shows whether memory grows with the file (it must not: the reader streams).
//
//   build/bench/import_bench                      # 100 MiB, then 1 GiB
//   build/bench/import_bench --bytes 300M --small 30M --dir /var/tmp
#include <stdlib.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "jobs/import_job.h"
#include "jobs/job_context.h"

namespace mlcron {
namespace {

namespace fs = std::filesystem;

std::int64_t PeakRssKb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;  // kilobytes on Linux
}

// "1G", "100M", "64K" or plain bytes.
std::uint64_t ParseBytes(const std::string& text) {
  std::size_t used = 0;
  std::uint64_t n = std::stoull(text, &used);
  std::string unit = text.substr(used);
  if (unit == "K" || unit == "KiB") return n << 10;
  if (unit == "M" || unit == "MiB") return n << 20;
  if (unit == "G" || unit == "GiB") return n << 30;
  if (!unit.empty()) throw std::invalid_argument("unknown unit in " + text);
  return n;
}

// Writes rows until the file holds at least `bytes`. About one row in 50 has a quoted note
// with a comma, a doubled quote or a line break, so the reader's slow paths are exercised.
std::int64_t GenerateCsv(const fs::path& path, std::uint64_t bytes) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> out(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!out) throw std::runtime_error("cannot write " + path.string());
  static const char* kTeams[] = {"Arsenal", "Chelsea", "Everton", "Fulham",   "Leeds",
                                 "Wolves",  "Spurs",   "Burnley", "Brighton", "Brentford"};
  static const char* kNotes[] = {"\"postponed, then replayed\"", "\"the \"\"derby\"\"\"",
                                 "\"two\nlines\""};
  std::mt19937_64 rng(42);
  std::fputs("id,league,date,home,away,home_goals,away_goals,xg,note\n", out.get());
  std::uint64_t written = 0;
  std::int64_t rows = 0;
  char line[256];
  while (written < bytes) {
    std::uint64_t r = rng();
    const char* note = (r % 50 == 0) ? kNotes[(r >> 8) % 3] : "";
    int n = std::snprintf(
        line, sizeof line, "%" PRId64 ",E%d,20%02d-%02d-%02d,%s,%s,%d,%d,%.3f,%s\n", rows + 1,
        static_cast<int>((r >> 12) % 4), static_cast<int>(10 + (r >> 16) % 15),
        static_cast<int>(1 + (r >> 20) % 12), static_cast<int>(1 + (r >> 24) % 28),
        kTeams[(r >> 28) % 10], kTeams[(r >> 32) % 10], static_cast<int>((r >> 36) % 6),
        static_cast<int>((r >> 40) % 5), static_cast<double>((r >> 44) % 4000) / 1000.0, note);
    if (std::fwrite(line, 1, static_cast<std::size_t>(n), out.get()) !=
        static_cast<std::size_t>(n)) {
      throw std::runtime_error("cannot write " + path.string() + " (disk full?)");
    }
    written += static_cast<std::uint64_t>(n);
    ++rows;
  }
  if (std::fflush(out.get()) != 0) throw std::runtime_error("cannot write " + path.string());
  return rows;
}

struct CaseResult {
  std::uint64_t bytes = 0;
  ImportStats stats;
  double seconds = 0;
  double rerun_seconds = 0;  // 0 when not run
  std::int64_t peak_rss_kb = 0;
  std::uint64_t db_bytes = 0;
  std::uint64_t wal_bytes = 0;  // the write-ahead log just before the connection closes
  std::uint64_t shm_bytes = 0;  // its index, which SQLite maps into memory
};

double Seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

CaseResult RunCase(const fs::path& dir, std::uint64_t bytes, bool rerun) {
  const fs::path csv = dir / "matches.csv";
  const fs::path db_path = dir / "data.db";
  std::printf("generating %.1f MiB of CSV in %s ...\n", bytes / 1048576.0, csv.c_str());
  std::fflush(stdout);
  GenerateCsv(csv, bytes);

  Config config;
  config.data_path = db_path.string();
  CaseResult result;
  result.bytes = fs::file_size(csv);
  {
    Result<std::unique_ptr<SqliteDb>> db = OpenDataDb(config);
    if (!db.ok()) throw std::runtime_error(db.message());
    BuiltinJobParams params;
    params.file = csv.string();
    params.table = "matches";
    params.key = {"id"};
    params.types = {
        {"id", "integer"}, {"home_goals", "integer"}, {"away_goals", "integer"}, {"xg", "real"}};
    auto start = std::chrono::steady_clock::now();
    Result<ImportStats> stats = ImportCsv(**db, params, "2024-03-31T01:00:00Z");
    result.seconds = Seconds(std::chrono::steady_clock::now() - start);
    if (!stats.ok()) throw std::runtime_error(stats.message());
    result.stats = *stats;
    if (rerun) {
      start = std::chrono::steady_clock::now();
      Result<ImportStats> again = ImportCsv(**db, params, "2024-04-01T01:00:00Z");
      result.rerun_seconds = Seconds(std::chrono::steady_clock::now() - start);
      if (!again.ok()) throw std::runtime_error(again.message());
      if (again->unchanged != again->rows) throw std::runtime_error("re-run changed rows");
    }
    std::error_code ec;
    result.wal_bytes = fs::file_size(db_path.string() + "-wal", ec);
    result.shm_bytes = fs::file_size(db_path.string() + "-shm", ec);
  }  // closing the connection checkpoints the WAL into the database
  result.peak_rss_kb = PeakRssKb();
  result.db_bytes = fs::file_size(db_path);
  fs::remove(csv);
  fs::remove(db_path);
  return result;
}

void Print(const CaseResult& r) {
  const double mib = r.bytes / 1048576.0;
  std::printf("%9.1f MiB  %10" PRId64
              " rows  %7.2f s  %9.0f rows/s  %6.1f MiB/s  peak RSS %6.1f MiB"
              "  db %7.1f MiB  WAL %7.1f MiB (index %.1f MiB)\n",
              mib, r.stats.rows, r.seconds, r.stats.rows / r.seconds, mib / r.seconds,
              r.peak_rss_kb / 1024.0, r.db_bytes / 1048576.0, r.wal_bytes / 1048576.0,
              r.shm_bytes / 1048576.0);
  if (r.rerun_seconds > 0) {
    std::printf("%9s      re-run, all %" PRId64 " unchanged: %7.2f s  %9.0f rows/s\n", "",
                r.stats.rows, r.rerun_seconds, r.stats.rows / r.rerun_seconds);
  }
  std::fflush(stdout);
}

int Main(int argc, char** argv) {
  CLI::App app{"Import benchmark: streams generated CSV into SQLite and reports peak RSS"};
  std::string bytes_text = "1G";
  std::string small_text = "100M";
  std::string dir_text = fs::temp_directory_path().string();
  app.add_option("--bytes", bytes_text, "size of the large file (K, M, G suffixes)");
  app.add_option("--small", small_text, "size of the small file run first");
  app.add_option("--dir", dir_text, "where the scratch folder goes (needs ~3x --bytes free)");
  CLI11_PARSE(app, argc, argv);

  std::string tmpl = (fs::path(dir_text) / "mlcron-import-bench-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::fprintf(stderr, "import_bench: cannot create a folder in %s\n", dir_text.c_str());
    return 1;
  }
  const fs::path dir = tmpl;
  int code = 0;
  try {
    const std::uint64_t big = ParseBytes(bytes_text);
    const std::uint64_t small = std::min(ParseBytes(small_text), big);
    std::printf("peak RSS before any import: %.1f MiB\n", PeakRssKb() / 1024.0);
    CaseResult first = RunCase(dir, small, /*rerun=*/true);
    Print(first);
    if (big > small) {
      CaseResult second = RunCase(dir, big, /*rerun=*/false);
      Print(second);
      std::printf("file size ratio %.1fx, peak RSS ratio %.3f (large / small)\n",
                  static_cast<double>(second.bytes) / first.bytes,
                  static_cast<double>(second.peak_rss_kb) / first.peak_rss_kb);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "import_bench: %s\n", e.what());
    code = 1;
  }
  fs::remove_all(dir);
  return code;
}

}  // namespace
}  // namespace mlcron

int main(int argc, char** argv) { return mlcron::Main(argc, argv); }
