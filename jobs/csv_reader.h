// CsvReader: a streaming RFC 4180 reader that hands out one record at a time, reading the
// file in fixed-size chunks so that memory stays bounded by the chunk plus the largest record
// (capped). Not thread-safe. Hand-written: see docs/jobs-import.md for why libcsv did not fit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/status.h"

namespace mlcron {

struct CsvField {
  std::string_view value;  // unquoted and unescaped ("" -> ")
  bool quoted = false;     // written in quotes: tells a quoted "" from an empty field
};

struct CsvOptions {
  std::size_t chunk_bytes = std::size_t{1} << 20;        // one read() of the file
  std::size_t max_record_bytes = std::size_t{16} << 20;  // field bytes of one record
};

class CsvReader {
 public:
  // Errors name the path: "/d/m.csv: cannot be opened: No such file or directory".
  static Result<std::unique_ptr<CsvReader>> Open(const std::string& path, CsvOptions options = {});
  ~CsvReader();
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // Reads the next record: true when one is available in fields(), false at the end of the
  // file. Blank lines are skipped; a UTF-8 byte order mark at the start of the file is
  // dropped. Errors read "PATH:LINE: ..." with the line where the record starts.
  Result<bool> Next();

  // The current record; the views stay valid until the next call to Next().
  const std::vector<CsvField>& fields() const { return fields_; }
  // The physical line (1-based) on which the current record starts, counting the line ends
  // inside quoted fields.
  std::int64_t line() const { return record_line_; }
  const std::string& path() const { return path_; }

 private:
  enum class State {
    kFieldStart,      // at the start of a field
    kUnquoted,        // inside an unquoted field
    kQuoted,          // inside a quoted field
    kQuoteInQuoted,   // a quote inside a quoted field: the end, or the first of ""
    kCarriageReturn,  // a CR outside quotes: a line end if LF follows
  };
  struct FieldSpan {
    std::size_t begin = 0;
    std::size_t size = 0;
    bool quoted = false;
  };

  CsvReader(int fd, std::string path, CsvOptions options);
  // Refills the chunk; false at the end of the file.
  Result<bool> Fill();
  Status Fail(const std::string& message) const;
  Status Append(const char* data, std::size_t size);
  Status EndField();
  // Ends the record at a line end or the end of the file; false for a blank line.
  Result<bool> EndRecord();
  void StartRecordIfNew();
  Status CheckSize() const;
  // Returns the record at the end of the file, or false when there is none.
  Result<bool> Finish();

  int fd_;
  std::string path_;
  CsvOptions options_;
  std::vector<char> chunk_;
  std::size_t pos_ = 0;             // next unread byte of chunk_
  std::size_t end_ = 0;             // bytes of chunk_ filled
  std::uint64_t chunk_offset_ = 0;  // file offset of chunk_[0]
  bool at_file_start_ = true;
  bool eof_ = false;

  State state_ = State::kFieldStart;
  bool cr_after_quote_ = false;  // the pending CR followed a closing quote
  bool field_quoted_ = false;
  std::int64_t line_ = 1;            // physical line of the next byte
  std::int64_t record_line_ = 0;     // line on which the record being read started
  bool in_record_ = false;           // a byte of the current record has been read
  std::uint64_t record_offset_ = 0;  // file offset where it started
  std::string record_;               // field bytes of the current record, back to back
  std::size_t field_begin_ = 0;
  std::vector<FieldSpan> spans_;
  std::vector<CsvField> fields_;
};

}  // namespace mlcron
