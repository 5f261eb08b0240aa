// The table side of an import: checks a CSV header against the job's key and types, then
// creates or checks the target table, its `_ingested_at` column and its unique key index.
// Private to jobs/import_job.cc; split out to keep each file about one thing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "daemon/job_params.h"
#include "daemon/sqlite_db.h"
#include "daemon/status.h"
#include "jobs/csv_reader.h"

namespace mlcron {

inline constexpr char kIngestedAt[] = "_ingested_at";

// What a field is checked against before it is bound.
enum class ImportType { kInteger, kReal, kText };

struct ImportColumn {
  std::string name;  // as written in the header
  ImportType type = ImportType::kText;
  bool typed = false;  // named in `types:`, which wins over an existing table's declared type
  bool is_key = false;
};

// "name" with inner quotes doubled: any header text is a safe SQL identifier.
std::string QuoteIdent(std::string_view name);

// The columns of a header record, in order. `at` is "FILE:LINE: " of the header. Errors: an
// empty or duplicate name (names compare as SQLite does, ignoring ASCII case), the reserved
// _ingested_at, a key column or a `types:` column missing from the header, an unknown type.
Result<std::vector<ImportColumn>> HeaderColumns(const std::vector<CsvField>& header,
                                                const BuiltinJobParams& params,
                                                const std::string& at);

// Inside the import's transaction: creates params.table from the header when absent, or
// checks that it has every header column (adding _ingested_at if it lacks it) and takes the
// types of columns not named in `types:` from its declared types. Then makes sure the unique
// index <table>_mlcron_key on the key exists, which ON CONFLICT needs.
Status PrepareTable(SqliteDb& data, const BuiltinJobParams& params, const std::string& at,
                    std::vector<ImportColumn>* columns);

}  // namespace mlcron
