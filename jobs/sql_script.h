// Lexical helpers for an operator's SQL script (a features job's .sql file or inline text):
// where a statement starts, on which line, how to quote it in a message, and whether it reads
// the wall clock. Pure functions over text; statements themselves are split by SQLite's
// prepare (its tail pointer), never here.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mlcron {

// The offset of the first byte at or after `pos` that is neither whitespace nor inside a
// `-- …` or `/* … */` comment; sql.size() if there is none.
std::size_t SkipSpaceAndComments(std::string_view sql, std::size_t pos);

// The offset just past the first `;` at or after `pos` that is outside strings, quoted
// names and comments, or sql.size(). Used only to quote a statement SQLite failed to parse.
std::size_t StatementEnd(std::string_view sql, std::size_t pos);

// The 1-based line `pos` is on.
int LineAt(std::string_view sql, std::size_t pos);

// A statement as quoted in a message: whitespace runs collapsed to one space, the trailing `;`
// dropped, and cut to at most `max_chars` bytes (on a UTF-8 boundary) ending in "...".
std::string Abbreviate(std::string_view statement, std::size_t max_chars = 80);

// Why `statement` reads the wall clock, or nullopt: "'now' in datetime()" for a date
// function given the string 'now' at any depth of its arguments, "date() without arguments",
// or "CURRENT_TIMESTAMP" (also _DATE, _TIME). Strings, quoted names and comments are
// understood, so `"now"` (a column) or `-- 'now'` do not count.
std::optional<std::string> FindWallClockUse(std::string_view statement);

}  // namespace mlcron
