#include "jobs/replay_reveal.h"

#include <algorithm>

#include "jobs/import_table.h"
#include "jobs/job_context.h"

namespace mlcron {
namespace {

bool IsLabel(const ReplaySource& s, const std::string& column) {
  return std::find(s.labels.begin(), s.labels.end(), column) != s.labels.end();
}

// ?1 = at, ?2 = the previous at, ?3 = the table, ?4 = the stamp.
// Rows that appear in (?2, ?1]; their labels only if their day has ended by ?1 too.
std::string InsertSql(const LoadedSource& src) {
  const std::string t = QuoteIdent(src.config.table);
  std::string cols, values;
  for (const std::string& c : src.columns) {
    cols += QuoteIdent(c) + ", ";
    values += IsLabel(src.config, c)
                  ? "CASE WHEN r.label_at <= ?1 THEN s." + QuoteIdent(c) + " END, "
                  : "s." + QuoteIdent(c) + ", ";
  }
  return "INSERT INTO main." + t + " (" + cols + kIngestedAt + ") SELECT " + values +
         "?4 FROM src." + t + " AS s JOIN src." + kRevealTable +
         " AS r ON r.tbl = ?3 AND r.rid = s.rowid WHERE r.row_at > ?2 AND r.row_at <= ?1";
}

// Rows that appeared earlier and whose labels are due in (?2, ?1].
std::string UpdateSql(const LoadedSource& src) {
  const std::string t = QuoteIdent(src.config.table);
  std::string set, match;
  for (const std::string& l : src.config.labels)
    set += QuoteIdent(l) + " = x." + QuoteIdent(l) + ", ";
  for (const std::string& k : src.config.key) {
    match +=
        std::string(match.empty() ? "" : " AND ") + "m." + QuoteIdent(k) + " = x." + QuoteIdent(k);
  }
  return "UPDATE main." + t + " AS m SET " + set + kIngestedAt +
         " = ?4 FROM (SELECT s.* FROM src." + t + " AS s JOIN src." + kRevealTable +
         " AS r ON r.tbl = ?3 AND r.rid = s.rowid WHERE r.label_at > ?2 AND r.label_at <= ?1 "
         "AND r.row_at <= ?2) AS x WHERE " +
         match;
}

}  // namespace

Result<Revealer> Revealer::Create(SqliteDb& data, const ReplaySources& sources) {
  SqliteStatement attach = data.Prepare("ATTACH DATABASE ? AS src");
  attach.Bind(1, sources.path);
  if (Status st = attach.Run(); !st.ok()) return st;
  for (const LoadedSource& src : sources.tables) {
    if (Status st = data.Exec(src.create_sql); !st.ok()) return st;
    for (const std::string& index : src.index_sql) {
      if (Status st = data.Exec(index); !st.ok()) return st;
    }
  }
  return Revealer(data, sources);
}

Result<RevealStats> Revealer::RevealUpTo(Instant at) {
  const std::int64_t now = at.time_since_epoch().count();
  RevealStats stats;
  if (now <= done_) return stats;
  const std::string stamp = IsoUtc(at);
  Status status = data_->Transaction([&]() -> Status {
    for (const LoadedSource& src : sources_->tables) {
      for (bool insert : {true, false}) {
        SqliteStatement st = data_->Prepare(insert ? InsertSql(src) : UpdateSql(src));
        st.Bind(1, now).Bind(2, done_).Bind(3, src.config.table).Bind(4, stamp);
        if (Status s = st.Run(); !s.ok()) return s;
        (insert ? stats.rows : stats.labels) += data_->Changes();
      }
      // Rows that appeared with their labels already due were labelled too.
      SqliteStatement due = data_->Prepare(std::string("SELECT count(*) FROM src.") + kRevealTable +
                                           " WHERE tbl = ?3 AND row_at > ?2 AND row_at <= ?1 "
                                           "AND label_at <= ?1");
      due.Bind(1, now).Bind(2, done_).Bind(3, src.config.table);
      Result<bool> row = due.Step();
      if (!row.ok()) return row.status();
      stats.labels += due.Int64(0);
    }
    return Status::Ok();
  });
  if (!status.ok()) return status;
  done_ = now;
  return stats;
}

}  // namespace mlcron
