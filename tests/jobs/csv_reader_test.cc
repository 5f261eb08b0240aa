#include "jobs/csv_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/daemon/state_test_util.h"

namespace mlcron {
namespace {

using ::mlcron::testing::ScratchDir;
using ::mlcron::testing::WriteBytes;

struct Row {
  std::int64_t line;
  std::vector<std::string> values;  // a quoted field is shown in quotes: "" is a quoted empty
  bool operator==(const Row&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Row& row) {
  os << row.line << ":";
  for (const std::string& v : row.values) os << " [" << v << "]";
  return os;
}

// Every record of `bytes`, read with chunks of every size in `chunks`, so that quotes, CRLF
// and record ends also fall on chunk boundaries. Fails the test if the sizes disagree.
Result<std::vector<Row>> ReadAll(const std::string& bytes, CsvOptions options = {}) {
  ScratchDir dir;
  const std::string path = dir.File("t.csv");
  WriteBytes(path, bytes);
  std::optional<Result<std::vector<Row>>> first;
  for (std::size_t chunk :
       {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7}, std::size_t{1} << 20}) {
    options.chunk_bytes = chunk;
    Result<std::vector<Row>> result = [&]() -> Result<std::vector<Row>> {
      auto reader = CsvReader::Open(path, options);
      if (!reader.ok()) return reader.status();
      std::vector<Row> rows;
      while (true) {
        Result<bool> next = (*reader)->Next();
        if (!next.ok()) return next.status();
        if (!*next) return rows;
        Row row{(*reader)->line(), {}};
        for (const CsvField& f : (*reader)->fields()) {
          row.values.push_back(f.quoted ? "\"" + std::string(f.value) + "\""
                                        : std::string(f.value));
        }
        rows.push_back(row);
      }
    }();
    // Messages name the scratch file; compare them without it.
    if (!result.ok()) result = Status::Error(result.message().substr(path.size()));
    if (!first) {
      first = result;
    } else if (first->ok() != result.ok() || (result.ok() && first->value() != result.value()) ||
               first->message() != result.message()) {
      ADD_FAILURE() << "chunk size " << chunk << " reads differently";
    }
  }
  return *first;
}

std::vector<Row> Rows(const std::string& bytes) {
  Result<std::vector<Row>> rows = ReadAll(bytes);
  EXPECT_TRUE(rows.ok()) << rows.message();
  return rows.ok() ? rows.value() : std::vector<Row>{};
}

TEST(CsvReader, PlainRecordsAndLines) {
  EXPECT_EQ(
      Rows("id,name,goals\n1,Arsenal,3\n2,Chelsea,\n"),
      (std::vector<Row>{
          {1, {"id", "name", "goals"}}, {2, {"1", "Arsenal", "3"}}, {3, {"2", "Chelsea", ""}}}));
}

TEST(CsvReader, QuotedFieldsAndDoubledQuotes) {
  EXPECT_EQ(Rows("a,b,c,d\n\"x,y\",\"he said \"\"hi\"\"\",,\"\"\n"),
            (std::vector<Row>{{1, {"a", "b", "c", "d"}},
                              {2, {"\"x,y\"", "\"he said \"hi\"\"", "", "\"\""}}}));
}

TEST(CsvReader, EmbeddedNewlinesKeepPhysicalLineNumbers) {
  EXPECT_EQ(Rows("id,note\n1,\"first\nsecond\nthird\"\n2,\"a\n\"\n3,x\n"),
            (std::vector<Row>{{1, {"id", "note"}},
                              {2, {"1", "\"first\nsecond\nthird\""}},
                              {5, {"2", "\"a\n\""}},
                              {7, {"3", "x"}}}));
}

TEST(CsvReader, CrlfLineEnds) {
  // CRLF ends a record; inside quotes it is data.
  EXPECT_EQ(Rows("a,b\r\n1,\"x\r\ny\"\r\n\"2\",3\r\n"),
            (std::vector<Row>{{1, {"a", "b"}}, {2, {"1", "\"x\r\ny\""}}, {4, {"\"2\"", "3"}}}));
}

TEST(CsvReader, LoneCarriageReturnIsData) {
  EXPECT_EQ(Rows("a\rb,c\n"), (std::vector<Row>{{1, {"a\rb", "c"}}}));
}

TEST(CsvReader, LastLineWithoutLineEnd) {
  EXPECT_EQ(Rows("a,b\n1,2"), (std::vector<Row>{{1, {"a", "b"}}, {2, {"1", "2"}}}));
  EXPECT_EQ(Rows("a,b\n1,"), (std::vector<Row>{{1, {"a", "b"}}, {2, {"1", ""}}}));
  EXPECT_EQ(Rows("a,b\n1,\"q\""), (std::vector<Row>{{1, {"a", "b"}}, {2, {"1", "\"q\""}}}));
  EXPECT_EQ(Rows("a,b\r"), (std::vector<Row>{{1, {"a", "b"}}}));
}

TEST(CsvReader, BlankLinesAreSkippedButCounted) {
  EXPECT_EQ(Rows("\na\n\n\r\nb\n\n"), (std::vector<Row>{{2, {"a"}}, {5, {"b"}}}));
  // A quoted empty field is a record, not a blank line.
  EXPECT_EQ(Rows("a\n\"\"\n"), (std::vector<Row>{{1, {"a"}}, {2, {"\"\""}}}));
}

TEST(CsvReader, ByteOrderMarkIsDropped) {
  EXPECT_EQ(Rows("\xEF\xBB\xBFid,x\n1,2\n"), (std::vector<Row>{{1, {"id", "x"}}, {2, {"1", "2"}}}));
  EXPECT_EQ(Rows("\xEF\xBB\xBF"), std::vector<Row>{});
}

TEST(CsvReader, EmptyFileHasNoRecords) { EXPECT_EQ(Rows(""), std::vector<Row>{}); }

TEST(CsvReader, QuoteInsideUnquotedFieldIsAnError) {
  Result<std::vector<Row>> rows = ReadAll("a,b\n1,ab\"c\n");
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.message(),
            ":2: field 2: a quote inside an unquoted field (quote the whole field and double "
            "the quotes inside it)");
}

TEST(CsvReader, TextAfterClosingQuoteIsAnError) {
  Result<std::vector<Row>> rows = ReadAll("a,b\n1,\"x\ny\"z\n");
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.message(),
            ":2: field 2: 'z' after the closing quote (expected a comma or the end of the line)");
  rows = ReadAll("a\n\"x\"\r\"\n");
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.message(),
            ":2: field 1: a carriage return after the closing quote that is not followed by a "
            "line feed");
}

TEST(CsvReader, UnclosedQuoteAtEndOfFileNamesTheRecordsLine) {
  Result<std::vector<Row>> rows = ReadAll("a,b\n1,2\n3,\"never\nclosed\n");
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.message(), ":3: field 2: the quoted field is not closed by the end of the file");
}

TEST(CsvReader, RecordLargerThanTheCapIsAnError) {
  CsvOptions options;
  options.max_record_bytes = 16;
  Result<std::vector<Row>> ok = ReadAll("a,b\n0123456,0123456\n", options);  // 15 bytes
  ASSERT_TRUE(ok.ok()) << ok.message();
  EXPECT_EQ(ok->size(), 2u);

  Result<std::vector<Row>> rows = ReadAll("a,b\n\"0123456789\nabcdefgh\",x\n", options);
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.message(), ":2: record longer than 16 bytes, the limit (is a quote not closed?)");
  // Separators count too, so a line of empty fields is bounded as well.
  rows = ReadAll(std::string(40, ',') + "\n", options);
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.message(), ":1: record longer than 16 bytes, the limit (is a quote not closed?)");
}

TEST(CsvReader, MissingFileIsNamed) {
  auto reader = CsvReader::Open("/nonexistent/m.csv");
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.message(), "/nonexistent/m.csv: cannot be opened: No such file or directory");
}

}  // namespace
}  // namespace mlcron
