#include "jobs/sql_script.h"

#include <algorithm>
#include <array>
#include <vector>

namespace mlcron {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// SQLite's identifier characters; bytes >= 0x80 are parts of UTF-8 names.
bool IsWordChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '_' ||
         u == '$' || u >= 0x80;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

enum class Tok { kEnd, kWord, kString, kQuotedName, kOpen, kClose, kSemicolon, kOther };

struct Token {
  Tok kind = Tok::kEnd;
  std::string_view text;  // as written, quotes included
};

// The offset just past a quoted run that starts at `pos` with `close`'s opening character;
// a doubled closing character is an escaped one. Unterminated runs end at the text's end.
std::size_t SkipQuoted(std::string_view sql, std::size_t pos, char close, bool doubled_escapes) {
  std::size_t i = pos + 1;
  while (i < sql.size()) {
    if (sql[i] == close) {
      if (doubled_escapes && i + 1 < sql.size() && sql[i + 1] == close) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    ++i;
  }
  return sql.size();
}

// Reads the token at or after `pos` and advances `pos` past it.
Token NextToken(std::string_view sql, std::size_t& pos) {
  pos = SkipSpaceAndComments(sql, pos);
  if (pos >= sql.size()) return {};
  const std::size_t start = pos;
  const char c = sql[pos];
  Tok kind = Tok::kOther;
  if (c == '\'') {
    kind = Tok::kString;
    pos = SkipQuoted(sql, pos, '\'', true);
  } else if (c == '"' || c == '`') {
    kind = Tok::kQuotedName;
    pos = SkipQuoted(sql, pos, c, true);
  } else if (c == '[') {
    kind = Tok::kQuotedName;
    pos = SkipQuoted(sql, pos, ']', false);
  } else if (IsWordChar(c)) {
    kind = Tok::kWord;
    while (pos < sql.size() && IsWordChar(sql[pos])) ++pos;
  } else {
    kind = c == '(' ? Tok::kOpen : c == ')' ? Tok::kClose : c == ';' ? Tok::kSemicolon : kind;
    ++pos;
  }
  return {kind, sql.substr(start, pos - start)};
}

// SQLite's date and time functions, all of which read the clock for 'now' or no arguments.
bool IsDateFunction(std::string_view lower_name) {
  static constexpr std::array<std::string_view, 7> kNames = {
      "date", "time", "datetime", "julianday", "unixepoch", "strftime", "timediff"};
  return std::find(kNames.begin(), kNames.end(), lower_name) != kNames.end();
}

}  // namespace

std::size_t SkipSpaceAndComments(std::string_view sql, std::size_t pos) {
  while (pos < sql.size()) {
    if (IsSpace(sql[pos])) {
      ++pos;
    } else if (sql.compare(pos, 2, "--") == 0) {
      const std::size_t eol = sql.find('\n', pos);
      pos = eol == std::string_view::npos ? sql.size() : eol + 1;
    } else if (sql.compare(pos, 2, "/*") == 0) {
      const std::size_t close = sql.find("*/", pos + 2);
      pos = close == std::string_view::npos ? sql.size() : close + 2;
    } else {
      break;
    }
  }
  return std::min(pos, sql.size());
}

std::size_t StatementEnd(std::string_view sql, std::size_t pos) {
  while (true) {
    Token t = NextToken(sql, pos);
    if (t.kind == Tok::kEnd || t.kind == Tok::kSemicolon) return pos;
  }
}

int LineAt(std::string_view sql, std::size_t pos) {
  pos = std::min(pos, sql.size());
  return 1 + static_cast<int>(std::count(sql.begin(), sql.begin() + pos, '\n'));
}

std::string Abbreviate(std::string_view statement, std::size_t max_chars) {
  std::string out;
  bool space = false;
  for (char c : statement) {
    if (IsSpace(c)) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  while (!out.empty() && (out.back() == ';' || out.back() == ' ')) out.pop_back();
  if (out.size() <= max_chars) return out;
  std::size_t cut = max_chars > 3 ? max_chars - 3 : 0;
  // Never split a UTF-8 sequence: back off over continuation bytes (10xxxxxx).
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
  out.resize(cut);
  return out + "...";
}

std::optional<std::string> FindWallClockUse(std::string_view statement) {
  // One entry per open parenthesis: the date function it calls, or "" for any other.
  std::vector<std::string> open;
  std::size_t pos = 0;
  Token prev;
  while (true) {
    const Token t = NextToken(statement, pos);
    switch (t.kind) {
      case Tok::kEnd:
        return std::nullopt;
      case Tok::kOpen: {
        std::string name = prev.kind == Tok::kWord ? Lower(prev.text) : "";
        if (!IsDateFunction(name)) name.clear();
        if (!name.empty()) {
          std::size_t peek = pos;
          if (NextToken(statement, peek).kind == Tok::kClose) {
            return name + "() without arguments";
          }
        }
        open.push_back(std::move(name));
        break;
      }
      case Tok::kClose:
        if (!open.empty()) open.pop_back();
        break;
      case Tok::kString:
        if (Lower(t.text) == "'now'") {
          auto call = std::find_if(open.rbegin(), open.rend(),
                                   [](const std::string& name) { return !name.empty(); });
          if (call != open.rend()) return "'now' in " + *call + "()";
        }
        break;
      case Tok::kWord: {
        const std::string word = Lower(t.text);
        if (word == "current_timestamp" || word == "current_date" || word == "current_time") {
          std::string upper(t.text);
          for (char& c : upper) {
            if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
          }
          return upper;
        }
        break;
      }
      default:
        break;
    }
    prev = t;
  }
}

}  // namespace mlcron
