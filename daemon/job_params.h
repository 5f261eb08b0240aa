// The typed keys of the built-in job kinds (DESIGN.md §6), validated at load by
// config_job_params.cc. Paths are absolute; each field is used by the kinds named beside it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "daemon/source_pos.h"

namespace mlcron {

struct BuiltinJobParams {
  // import
  std::string file;                          // the CSV file
  std::string table;                         // target table
  std::vector<std::string> key;              // one or more key columns
  std::map<std::string, std::string> types;  // column -> integer | real | text
  // features: exactly one of sql (inline text) or sql_file (a path ending in .sql)
  std::string sql;
  std::string sql_file;
  // retrain, signals, tune
  std::string model;
  SourcePos model_pos;  // where `model:` was written, for reference errors
  bool full = false;    // retrain: every run is a full retrain
  // tune: when a study's best params become the segment's tuned params. better: when they
  // beat the current params on the same folds; always; never (the study is only recorded).
  std::string apply = "better";
  // signals
  std::string input;   // a table name or a SELECT
  std::string output;  // the table signals are appended to
};

}  // namespace mlcron
