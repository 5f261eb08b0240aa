#include "jobs/sql_value.h"

#include <fmt/format.h>

#include <cmath>
#include <utility>

namespace mlcron {

SqlValue SqlValue::Integer(std::int64_t v) {
  SqlValue value;
  value.type = Type::kInteger;
  value.i = v;
  return value;
}

SqlValue SqlValue::Real(double v) {
  SqlValue value;
  value.type = Type::kReal;
  value.r = v;
  return value;
}

SqlValue SqlValue::Text(std::string v) {
  SqlValue value;
  value.type = Type::kText;
  value.s = std::move(v);
  return value;
}

SqlValue SqlValue::FromColumn(sqlite3_stmt* stmt, int col) {
  switch (sqlite3_column_type(stmt, col)) {
    case SQLITE_INTEGER:
      return Integer(sqlite3_column_int64(stmt, col));
    case SQLITE_FLOAT:
      return Real(sqlite3_column_double(stmt, col));
    case SQLITE_NULL:
      return SqlValue();
    default: {
      // TEXT, and a BLOB taken as its bytes: the struct has no blob type, and a blob bound
      // back as text still compares as text in SQL.
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, col));
      if (text == nullptr) return Text("");
      return Text(std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt, col))));
    }
  }
}

void SqlValue::Bind(sqlite3_stmt* stmt, int index) const {
  switch (type) {
    case Type::kNull:
      sqlite3_bind_null(stmt, index);
      break;
    case Type::kInteger:
      sqlite3_bind_int64(stmt, index, i);
      break;
    case Type::kReal:
      sqlite3_bind_double(stmt, index, r);
      break;
    case Type::kText:
      sqlite3_bind_text64(stmt, index, s.data(), s.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
      break;
  }
}

std::string SqlValue::ToString() const {
  switch (type) {
    case Type::kNull:
      return "";
    case Type::kInteger:
      return std::to_string(i);
    case Type::kReal: {
      // Shortest text that reads back as the same double; ".0" keeps a whole real visibly a
      // real (as sqlite3 prints it), so 3.0 and 3 do not look alike.
      std::string text = fmt::format("{}", r);
      if (std::isfinite(r) && text.find_first_of(".e") == std::string::npos) text += ".0";
      return text;
    }
    case Type::kText:
      return s;
  }
  return "";
}

// Same type and same value: Integer(3) and Real(3.0) differ, as their stored forms do.
bool operator==(const SqlValue& a, const SqlValue& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case SqlValue::Type::kNull:
      return true;
    case SqlValue::Type::kInteger:
      return a.i == b.i;
    case SqlValue::Type::kReal:
      return a.r == b.r;
    case SqlValue::Type::kText:
      return a.s == b.s;
  }
  return false;
}

}  // namespace mlcron
