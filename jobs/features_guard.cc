#include "jobs/features_guard.h"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <string_view>
#include <utility>

namespace mlcron {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string Quote(std::string_view name) { return "\"" + std::string(name) + "\""; }

std::string Str(const char* s) { return s != nullptr ? s : ""; }

int Callback(void* guard, int code, const char* arg1, const char* arg2, const char* db_name,
             const char* /*trigger_or_view*/) {
  return static_cast<FeaturesGuard*>(guard)->Authorize(code, arg1, arg2, db_name);
}

// Pragmas that only read the schema; every other one may change a setting of the connection
// or the file (journal_mode, writable_schema, foreign_keys, ...).
bool IsSchemaPragma(std::string_view lower_name) {
  static constexpr std::array<std::string_view, 7> kNames = {
      "table_info",  "table_xinfo",      "index_list", "index_info",
      "index_xinfo", "foreign_key_list", "table_list"};
  return std::find(kNames.begin(), kNames.end(), lower_name) != kNames.end();
}

}  // namespace

FeaturesGuard::FeaturesGuard(std::string job, std::set<std::string> owned,
                             std::map<std::string, std::string> others)
    : job_(std::move(job)), owned_(std::move(owned)), others_(std::move(others)) {}

void FeaturesGuard::BeginStatement(std::set<std::string> existing) {
  existing_ = std::move(existing);
  creating_.clear();
  denial_.clear();
}

FeaturesGuard::Scope::Scope(sqlite3* db, FeaturesGuard* guard) : db_(db) {
  sqlite3_set_authorizer(db_, Callback, guard);
}

FeaturesGuard::Scope::~Scope() { sqlite3_set_authorizer(db_, nullptr, nullptr); }

int FeaturesGuard::Deny(std::string reason) {
  // SQLite may ask about several actions of one statement; the first refusal explains it.
  if (denial_.empty()) denial_ = std::move(reason);
  return SQLITE_DENY;
}

int FeaturesGuard::Write(const char* what, const char* table, const char* db_name) {
  const std::string db = db_name != nullptr ? db_name : "main";
  const std::string name = Str(table);
  const std::string lower = Lower(name);
  // Temp tables die with the connection; SQLite's own tables (sqlite_master, sqlite_sequence,
  // sqlite_stat1) change as a side effect of allowed DDL, and SQLite itself refuses direct
  // writes to the schema.
  if (db == "temp" || StartsWith(lower, "sqlite_")) return SQLITE_OK;
  if (db == "main" && (owned_.count(lower) > 0 || creating_.count("main." + lower) > 0)) {
    return SQLITE_OK;
  }
  std::string why;
  if (StartsWith(lower, "_mlcron_")) {
    why = Quote(name) + " is mlcron's own bookkeeping table";
  } else if (auto other = others_.find(lower); other != others_.end()) {
    why = Quote(name) + " is a derived table of job " + Quote(other->second);
  } else {
    why = Quote(name) + " is a source table";
  }
  const char* noun = std::string_view(what) == "DROP VIEW" ? " on view " : " on table ";
  return Deny(std::string(what) + noun + Quote(name) +
              " is not allowed: features jobs write only tables they created (derived "
              "tables); " +
              why);
}

int FeaturesGuard::Create(const char* what, const char* table, const char* db_name) {
  const std::string db = db_name != nullptr ? db_name : "main";
  const std::string name = Str(table);
  const std::string lower = Lower(name);
  if (db == "temp") {
    if (existing_.count("temp." + lower) == 0) creating_.insert("temp." + lower);
    return SQLITE_OK;
  }
  if (StartsWith(lower, "sqlite_")) return SQLITE_OK;  // ANALYZE creates sqlite_stat1
  if (StartsWith(lower, "_mlcron_")) {
    return Deny(std::string(what) + " " + Quote(name) +
                " is not allowed: names starting with _mlcron_ are reserved for mlcron");
  }
  if (auto other = others_.find(lower); other != others_.end()) {
    return Deny(std::string(what) + " " + Quote(name) + " is not allowed: " + Quote(name) +
                " is a derived table of job " + Quote(other->second));
  }
  // An existing name is left alone: CREATE ... IF NOT EXISTS on a source table is a no-op
  // and without IF NOT EXISTS SQLite refuses it; neither makes the table this job's.
  if (existing_.count("main." + lower) == 0) creating_.insert("main." + lower);
  return SQLITE_OK;
}

std::string FeaturesGuard::Claim(const std::string& name) {
  const std::string lower = Lower(name);
  if (creating_.count("main." + lower) == 0) {
    if (StartsWith(lower, "_mlcron_")) {
      return "RENAME TO " + Quote(name) +
             " is not allowed: names starting with _mlcron_ are reserved for mlcron";
    }
    if (auto other = others_.find(lower); other != others_.end()) {
      return "RENAME TO " + Quote(name) + " is not allowed: " + Quote(name) +
             " is a derived table of job " + Quote(other->second);
    }
  }
  owned_.insert(lower);
  return "";
}

int FeaturesGuard::Authorize(int code, const char* arg1, const char* arg2, const char* db_name) {
  switch (code) {
    case SQLITE_READ:
    case SQLITE_SELECT:
    case SQLITE_FUNCTION:
    case SQLITE_RECURSIVE:
    case SQLITE_SAVEPOINT:  // nests inside mlcron's transaction
    case SQLITE_ANALYZE:
    case SQLITE_REINDEX:
    case SQLITE_CREATE_TEMP_INDEX:
    case SQLITE_DROP_TEMP_INDEX:
    case SQLITE_DROP_TEMP_TABLE:
    case SQLITE_DROP_TEMP_VIEW:
    case SQLITE_DROP_TEMP_TRIGGER:
      return SQLITE_OK;
    case SQLITE_INSERT:
      return Write("INSERT", arg1, db_name);
    case SQLITE_UPDATE:
      return Write("UPDATE", arg1, db_name);
    case SQLITE_DELETE:
      return Write("DELETE", arg1, db_name);
    case SQLITE_DROP_TABLE:
    case SQLITE_DROP_VTABLE:
      return Write("DROP TABLE", arg1, db_name);
    case SQLITE_DROP_VIEW:
      return Write("DROP VIEW", arg1, db_name);
    case SQLITE_ALTER_TABLE:  // arg1 is the database, arg2 the table
      return Write("ALTER TABLE", arg2, arg1);
    case SQLITE_CREATE_INDEX:  // arg1 is the index, arg2 its table
      return Write("CREATE INDEX", arg2, db_name);
    case SQLITE_DROP_INDEX:
      return Write("DROP INDEX", arg2, db_name);
    case SQLITE_DROP_TRIGGER:
      return Write("DROP TRIGGER", arg2, db_name);
    case SQLITE_CREATE_TABLE:
    case SQLITE_CREATE_TEMP_TABLE:
      return Create("CREATE TABLE", arg1, db_name);
    case SQLITE_CREATE_VIEW:
    case SQLITE_CREATE_TEMP_VIEW:
      return Create("CREATE VIEW", arg1, db_name);
    case SQLITE_CREATE_TRIGGER:
    case SQLITE_CREATE_TEMP_TRIGGER:
      return Deny("CREATE TRIGGER " + Quote(Str(arg1)) +
                  " is not allowed: a trigger would go on firing outside the features job's "
                  "checks");
    case SQLITE_CREATE_VTABLE:
      return Deny("CREATE VIRTUAL TABLE " + Quote(Str(arg1)) + " is not allowed in features jobs");
    case SQLITE_TRANSACTION:
      return Deny(Str(arg1) +
                  " is not allowed: mlcron runs all of a features job's statements in one "
                  "transaction that it begins and commits itself");
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
      return Deny(std::string(code == SQLITE_ATTACH ? "ATTACH" : "DETACH") +
                  " is not allowed: features jobs work on the data database only");
    case SQLITE_PRAGMA:
      if (IsSchemaPragma(Lower(Str(arg1)))) return SQLITE_OK;
      return Deny("PRAGMA " + Str(arg1) +
                  " is not allowed: features jobs may only read the schema with PRAGMA "
                  "table_info, table_xinfo, index_list, index_info, index_xinfo, "
                  "foreign_key_list or table_list");
    default:
      return Deny("this kind of statement is not allowed in features jobs (SQLite action " +
                  std::to_string(code) + ")");
  }
}

}  // namespace mlcron
