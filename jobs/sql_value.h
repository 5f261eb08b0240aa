// One SQLite value as stored (NULL, integer, real or text), kept with its type so a bound
// such as a model's watermark compares in SQL exactly as the column's own values do.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "daemon/sqlite_db.h"

namespace mlcron {

struct SqlValue {
  enum class Type { kNull, kInteger, kReal, kText };
  Type type = Type::kNull;
  std::int64_t i = 0;
  double r = 0;
  std::string s;

  static SqlValue Integer(std::int64_t v);
  static SqlValue Real(double v);
  static SqlValue Text(std::string v);
  static SqlValue FromColumn(sqlite3_stmt* stmt, int col);

  bool is_null() const { return type == Type::kNull; }
  // Binds with sqlite3_bind_* of the matching type (NULL binds NULL).
  void Bind(sqlite3_stmt* stmt, int index) const;
  // As shown to people and in JSON: 1700000000, 2.5, 2017-05-28; "" for NULL.
  std::string ToString() const;
  friend bool operator==(const SqlValue& a, const SqlValue& b);
};

}  // namespace mlcron
