#include "jobs/csv_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace mlcron {

namespace {

std::string DescribeByte(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
  static const char kHex[] = "0123456789abcdef";
  return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 0xf];
}

std::string MiB(std::size_t bytes) {
  if (bytes % (std::size_t{1} << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace

Result<std::unique_ptr<CsvReader>> CsvReader::Open(const std::string& path, CsvOptions options) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Error(path + ": cannot be opened: " + std::strerror(errno));
  options.chunk_bytes = std::max<std::size_t>(options.chunk_bytes, 1);
  return std::unique_ptr<CsvReader>(new CsvReader(fd, path, options));
}

CsvReader::CsvReader(int fd, std::string path, CsvOptions options)
    // At least 3 bytes, so that the first read sees a whole byte order mark.
    : fd_(fd),
      path_(std::move(path)),
      options_(options),
      chunk_(std::max<std::size_t>(options.chunk_bytes, 3)) {}

CsvReader::~CsvReader() { ::close(fd_); }

Status CsvReader::Fail(const std::string& message) const {
  return Status::Error(path_ + ":" + std::to_string(record_line_) + ": " + message);
}

Result<bool> CsvReader::Fill() {
  if (eof_) return false;
  chunk_offset_ += end_;
  pos_ = end_ = 0;
  // The first read gets at least 3 bytes (if the file has them) to see a whole byte order mark.
  std::size_t want = at_file_start_ ? chunk_.size() : options_.chunk_bytes;
  std::size_t need = at_file_start_ ? 3 : 1;
  while (end_ < need) {
    ssize_t n = ::read(fd_, chunk_.data() + end_, want - end_);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Error(path_ + ": cannot be read: " + std::strerror(errno));
    if (n == 0) break;
    end_ += static_cast<std::size_t>(n);
  }
  if (at_file_start_) {
    at_file_start_ = false;
    if (end_ >= 3 && std::memcmp(chunk_.data(), "\xEF\xBB\xBF", 3) == 0) pos_ = 3;
  }
  if (end_ == 0) {
    eof_ = true;
    return false;
  }
  return true;
}

void CsvReader::StartRecordIfNew() {
  if (in_record_) return;
  in_record_ = true;
  record_line_ = line_;
  record_offset_ = chunk_offset_ + pos_;
}

Status CsvReader::CheckSize() const {
  // Raw bytes, so that a record of many empty fields is bounded too.
  if (chunk_offset_ + pos_ - record_offset_ > options_.max_record_bytes) {
    return Fail("record longer than " + MiB(options_.max_record_bytes) +
                ", the limit (is a quote not closed?)");
  }
  return Status::Ok();
}

Status CsvReader::Append(const char* data, std::size_t size) {
  record_.append(data, size);
  return CheckSize();
}

Status CsvReader::EndField() {
  spans_.push_back({field_begin_, record_.size() - field_begin_, field_quoted_});
  field_begin_ = record_.size();
  field_quoted_ = false;
  state_ = State::kFieldStart;
  return CheckSize();
}

Result<bool> CsvReader::EndRecord() {
  state_ = State::kFieldStart;
  if (!in_record_) return false;  // a blank line
  if (Status s = EndField(); !s.ok()) return s;
  in_record_ = false;
  fields_.clear();
  fields_.reserve(spans_.size());
  for (const FieldSpan& span : spans_) {
    fields_.push_back({std::string_view(record_).substr(span.begin, span.size), span.quoted});
  }
  return true;
}

Result<bool> CsvReader::Finish() {
  switch (state_) {
    case State::kQuoted:
      return Fail("field " + std::to_string(spans_.size() + 1) +
                  ": the quoted field is not closed by the end of the file");
    case State::kFieldStart:
    case State::kUnquoted:
    case State::kQuoteInQuoted:
    case State::kCarriageReturn:  // a last line ended by a lone CR
      return EndRecord();
  }
  return false;
}

Result<bool> CsvReader::Next() {
  fields_.clear();
  spans_.clear();
  record_.clear();
  field_begin_ = 0;
  while (true) {
    if (pos_ == end_) {
      Result<bool> more = Fill();
      if (!more.ok()) return more.status();
      if (!*more) return Finish();
      continue;
    }
    const char* data = chunk_.data();
    char c = data[pos_];
    switch (state_) {
      case State::kFieldStart:
        if (c == '\n') {
          ++pos_;
          ++line_;
          Result<bool> ended = EndRecord();
          if (!ended.ok() || *ended) return ended;
          break;
        }
        if (c == '\r') {
          ++pos_;
          cr_after_quote_ = false;
          state_ = State::kCarriageReturn;
          break;
        }
        StartRecordIfNew();
        if (c == '"') {
          ++pos_;
          field_quoted_ = true;
          state_ = State::kQuoted;
        } else if (c == ',') {
          ++pos_;
          if (Status s = EndField(); !s.ok()) return s;
        } else {
          state_ = State::kUnquoted;
        }
        break;

      case State::kUnquoted: {
        // The common case: copy a run of ordinary bytes at once.
        std::size_t run = pos_;
        while (run < end_ && data[run] != ',' && data[run] != '\n' && data[run] != '\r' &&
               data[run] != '"') {
          ++run;
        }
        if (run > pos_) {
          std::size_t from = pos_;
          pos_ = run;
          if (Status s = Append(data + from, run - from); !s.ok()) return s;
          break;
        }
        if (c == '"') {
          return Fail("field " + std::to_string(spans_.size() + 1) +
                      ": a quote inside an unquoted field (quote the whole field and double "
                      "the quotes inside it)");
        }
        state_ = State::kFieldStart;  // the separator is handled there
        if (c == '\r') {
          ++pos_;
          cr_after_quote_ = false;
          state_ = State::kCarriageReturn;
        }
        break;
      }

      case State::kQuoted: {
        const void* quote = std::memchr(data + pos_, '"', end_ - pos_);
        std::size_t run = quote ? static_cast<const char*>(quote) - data : end_;
        line_ += std::count(data + pos_, data + run, '\n');
        std::size_t from = pos_;
        pos_ = run;
        if (run > from) {
          if (Status s = Append(data + from, run - from); !s.ok()) return s;
        }
        if (quote) {
          ++pos_;
          state_ = State::kQuoteInQuoted;
        }
        break;
      }

      case State::kQuoteInQuoted:
        if (c == '"') {  // "" stands for one quote
          ++pos_;
          state_ = State::kQuoted;
          if (Status s = Append("\"", 1); !s.ok()) return s;
        } else if (c == ',' || c == '\n') {
          state_ = State::kFieldStart;
        } else if (c == '\r') {
          ++pos_;
          cr_after_quote_ = true;
          state_ = State::kCarriageReturn;
        } else {
          return Fail("field " + std::to_string(spans_.size() + 1) + ": " + DescribeByte(c) +
                      " after the closing quote (expected a comma or the end of the line)");
        }
        break;

      case State::kCarriageReturn:
        if (c == '\n') {  // CRLF: the LF ends the line
          state_ = State::kFieldStart;
          break;
        }
        if (cr_after_quote_) {
          return Fail("field " + std::to_string(spans_.size() + 1) +
                      ": a carriage return after the closing quote that is not followed by a "
                      "line feed");
        }
        // A lone CR outside quotes is data; the byte after it continues the field.
        StartRecordIfNew();
        state_ = State::kUnquoted;
        if (Status s = Append("\r", 1); !s.ok()) return s;
        break;
    }
  }
}

}  // namespace mlcron
