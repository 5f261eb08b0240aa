// The write guard of a features job: an SQLite authorizer under which the operator's
// statements may read anything but write only temp tables and the job's own derived tables,
// and may not control the transaction, ATTACH, create triggers or virtual tables, or change
// settings with PRAGMA. One guard per run, used on the connection's thread only.
#pragma once

#include <map>
#include <set>
#include <string>

struct sqlite3;

namespace mlcron {

class FeaturesGuard {
 public:
  // `owned`: lowercased names of this job's derived tables (recorded or created so far);
  // `others`: lowercased name -> job for the derived tables of other jobs.
  FeaturesGuard(std::string job, std::set<std::string> owned,
                std::map<std::string, std::string> others);

  // Before each statement: the lowercased "main.x" / "temp.x" keys of the tables and views
  // that exist, so that a CREATE can tell a new name from an existing (source) one.
  void BeginStatement(std::set<std::string> existing);
  // Why the statement was denied ("DELETE on table \"matches\" is not allowed: ..."), or "".
  const std::string& denial() const { return denial_; }
  // Keys of the tables the statement is creating that did not exist before it.
  const std::set<std::string>& creating() const { return creating_; }

  // After a statement, for each table or view of the main database that it brought into
  // being: makes it the job's and returns "", or returns why the name may not be taken. A
  // CREATE was checked while preparing; ALTER TABLE ... RENAME TO shows its new name only here.
  std::string Claim(const std::string& name);
  const std::set<std::string>& owned() const { return owned_; }

  // Installs the guard as `db`'s authorizer for the scope's lifetime. SQLite consults it
  // while preparing (and re-preparing) a statement, so a scope spans prepare through finalize.
  class Scope {
   public:
    Scope(sqlite3* db, FeaturesGuard* guard);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    sqlite3* db_;
  };

  // The authorizer decision for one action (SQLITE_OK or SQLITE_DENY); public for the C
  // callback. Arguments as sqlite3_set_authorizer documents them, possibly null.
  int Authorize(int code, const char* arg1, const char* arg2, const char* db_name);

 private:
  // A write of `what` ("DELETE", "DROP TABLE", ...) to `table` in database `db_name`.
  int Write(const char* what, const char* table, const char* db_name);
  int Create(const char* what, const char* table, const char* db_name);
  int Deny(std::string reason);

  std::string job_;
  std::set<std::string> owned_;
  std::map<std::string, std::string> others_;
  std::set<std::string> existing_;
  std::set<std::string> creating_;
  std::string denial_;
};

}  // namespace mlcron
