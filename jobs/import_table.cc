#include "jobs/import_table.h"

#include <sqlite3.h>

#include <algorithm>
#include <map>

namespace mlcron {

namespace {

// SQLite compares identifiers ignoring ASCII case only.
char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool SameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return Lower(x) == Lower(y); });
}

std::string Joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::vector<std::string> Names(const std::vector<ImportColumn>& columns) {
  std::vector<std::string> names;
  for (const ImportColumn& c : columns) names.push_back(c.name);
  return names;
}

// The check a declared column type implies, by SQLite's affinity rules (in their order: INT
// first, so "POINT" is an integer). NUMERIC and BLOB affinity are checked as text and left to
// SQLite to convert: dates in a DATE column must stay accepted.
ImportType FromDeclaredType(std::string_view declared) {
  std::string upper(declared);
  for (char& c : upper) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  auto has = [&](const char* s) { return upper.find(s) != std::string::npos; };
  if (has("INT")) return ImportType::kInteger;
  if (has("CHAR") || has("CLOB") || has("TEXT") || has("BLOB")) return ImportType::kText;
  if (has("REAL") || has("FLOA") || has("DOUB")) return ImportType::kReal;
  return ImportType::kText;
}

const char* DeclaredType(ImportType type) {
  switch (type) {
    case ImportType::kInteger:
      return "INTEGER";
    case ImportType::kReal:
      return "REAL";
    case ImportType::kText:
      return "TEXT";
  }
  return "TEXT";
}

struct TableColumn {
  std::string name;
  std::string declared;
};

// Empty when the table does not exist.
Result<std::vector<TableColumn>> ReadTableColumns(SqliteDb& data, const std::string& table) {
  SqliteStatement st = data.Prepare("SELECT name, type FROM pragma_table_info(?1)");
  st.Bind(1, std::string_view(table));
  std::vector<TableColumn> columns;
  while (true) {
    Result<bool> row = st.Step();
    if (!row.ok()) return row.status();
    if (!*row) return columns;
    columns.push_back({st.Text(0), st.Text(1)});
  }
}

Status CreateTable(SqliteDb& data, const std::string& table,
                   const std::vector<ImportColumn>& columns) {
  std::string sql = "CREATE TABLE " + QuoteIdent(table) + " (";
  for (const ImportColumn& c : columns) {
    sql += QuoteIdent(c.name) + " " + DeclaredType(c.type) + ", ";
  }
  sql += QuoteIdent(kIngestedAt) + std::string(" TEXT)");
  return data.Exec(sql);
}

Status CheckTable(SqliteDb& data, const std::string& table, const std::string& at,
                  const std::vector<TableColumn>& existing, std::vector<ImportColumn>* columns) {
  std::vector<std::string> names;
  for (const TableColumn& t : existing) names.push_back(t.name);
  for (ImportColumn& c : *columns) {
    auto found = std::find_if(existing.begin(), existing.end(),
                              [&](const TableColumn& t) { return SameName(t.name, c.name); });
    if (found == existing.end()) {
      return Status::Error(at + "column \"" + c.name + "\" is not in table " + table +
                           " (its columns: " + Joined(names) + ")");
    }
    if (!c.typed) c.type = FromDeclaredType(found->declared);
  }
  if (std::none_of(existing.begin(), existing.end(),
                   [](const TableColumn& t) { return SameName(t.name, kIngestedAt); })) {
    return data.Exec("ALTER TABLE " + QuoteIdent(table) + " ADD COLUMN " + QuoteIdent(kIngestedAt) +
                     " TEXT");
  }
  return Status::Ok();
}

// Makes sure <table>_mlcron_key is a unique index on exactly the key; an index of that name
// on other columns is mlcron's own from an earlier key, so it is rebuilt.
Status EnsureKeyIndex(SqliteDb& data, const std::string& table,
                      const std::vector<std::string>& key) {
  const std::string index = table + "_mlcron_key";
  std::vector<std::string> indexed;
  {
    SqliteStatement st = data.Prepare(
        "SELECT tbl_name FROM sqlite_schema WHERE type = 'index' AND name = ?1 COLLATE NOCASE");
    st.Bind(1, std::string_view(index));
    Result<bool> row = st.Step();
    if (!row.ok()) return row.status();
    if (*row && !SameName(st.Text(0), table)) {
      return Status::Error("index " + index + " already exists on table " + st.Text(0) +
                           ", not on " + table);
    }
  }
  {
    SqliteStatement st = data.Prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno");
    st.Bind(1, std::string_view(index));
    while (true) {
      Result<bool> row = st.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      indexed.push_back(st.Text(0));
    }
  }
  if (std::equal(indexed.begin(), indexed.end(), key.begin(), key.end(), SameName)) {
    return Status::Ok();
  }
  if (!indexed.empty()) {
    if (Status s = data.Exec("DROP INDEX " + QuoteIdent(index)); !s.ok()) return s;
  }
  std::string columns;
  for (const std::string& k : key) columns += (columns.empty() ? "" : ", ") + QuoteIdent(k);
  Status s = data.Exec("CREATE UNIQUE INDEX " + QuoteIdent(index) + " ON " + QuoteIdent(table) +
                       " (" + columns + ")");
  if (s.ok()) return s;
  std::string hint;
  if ((data.last_error_code() & 0xff) == SQLITE_CONSTRAINT) {
    hint = " (the table already holds rows with the same key)";
  }
  return Status::Error("table " + table + ": cannot create the unique index " + index +
                       " on its key (" + Joined(key) + "): " + s.message() + hint);
}

}  // namespace

std::string QuoteIdent(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    out += c;
    if (c == '"') out += '"';
  }
  return out + "\"";
}

Result<std::vector<ImportColumn>> HeaderColumns(const std::vector<CsvField>& header,
                                                const BuiltinJobParams& params,
                                                const std::string& at) {
  if (params.key.empty()) return Status::Error("import into " + params.table + ": no key given");
  std::vector<ImportColumn> columns;
  for (std::size_t i = 0; i < header.size(); ++i) {
    const std::string name(header[i].value);
    const std::string where = "column " + std::to_string(i + 1) + " of the header";
    if (name.empty()) return Status::Error(at + where + " has no name");
    if (SameName(name, kIngestedAt)) {
      return Status::Error(at + where + " is \"" + name +
                           "\", which mlcron writes itself: it cannot come from the file");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (SameName(columns[j].name, name)) {
        return Status::Error(at + "column \"" + name + "\" appears twice in the header (columns " +
                             std::to_string(j + 1) + " and " + std::to_string(i + 1) + ")");
      }
    }
    columns.push_back({name});
  }
  for (const std::string& k : params.key) {
    auto it = std::find_if(columns.begin(), columns.end(),
                           [&](const ImportColumn& c) { return SameName(c.name, k); });
    if (it == columns.end()) {
      return Status::Error(at + "key column \"" + k +
                           "\" is not in the header (columns: " + Joined(Names(columns)) + ")");
    }
    it->is_key = true;
  }
  static const std::map<std::string, ImportType> kTypes = {
      {"integer", ImportType::kInteger}, {"real", ImportType::kReal}, {"text", ImportType::kText}};
  for (const auto& [name, type] : params.types) {
    auto column = std::find_if(columns.begin(), columns.end(),
                               [&](const ImportColumn& c) { return SameName(c.name, name); });
    if (column == columns.end()) {
      return Status::Error(at + "types: column \"" + name +
                           "\" is not in the header (columns: " + Joined(Names(columns)) + ")");
    }
    auto known = kTypes.find(type);
    if (known == kTypes.end()) {
      return Status::Error("types: column \"" + name + "\": unknown type \"" + type +
                           "\" (known: integer, real, text)");
    }
    column->type = known->second;
    column->typed = true;
  }
  return columns;
}

Status PrepareTable(SqliteDb& data, const BuiltinJobParams& params, const std::string& at,
                    std::vector<ImportColumn>* columns) {
  Result<std::vector<TableColumn>> existing = ReadTableColumns(data, params.table);
  if (!existing.ok()) return existing.status();
  Status s = existing->empty() ? CreateTable(data, params.table, *columns)
                               : CheckTable(data, params.table, at, *existing, columns);
  if (!s.ok()) return s;
  return EnsureKeyIndex(data, params.table, params.key);
}

}  // namespace mlcron
