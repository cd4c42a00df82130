// What the SQLite driver's tests share: a temporary directory for the database file, a raw handle on
// that file (the plain SQLite API, independent of the store), and a fixture that opens a SqliteStore on it.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "meta/sqlite_store.h"

namespace berth::meta::sqlite_test {

namespace fs = std::filesystem;

// A directory under the system temp dir, removed with everything in it when the last owner lets go.
inline std::shared_ptr<fs::path> make_temp_dir(const std::string& prefix = "berth-meta") {
  std::string pattern = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) return nullptr;
  return std::shared_ptr<fs::path>(new fs::path(pattern), [](fs::path* p) {
    std::error_code ec;
    fs::remove_all(*p, ec);
    delete p;
  });
}

// Runs SQL on the file with the plain SQLite API, independently of the store. Read-only unless asked.
class RawDb {
 public:
  enum class Mode { read_only, read_write };
  explicit RawDb(const fs::path& file, Mode mode = Mode::read_only) {
    int flags = mode == Mode::read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    sqlite3_open_v2(file.c_str(), &db_, flags, nullptr);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  bool exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) ADD_FAILURE() << sql.substr(0, 80) << ": " << (err ? err : "?");
    sqlite3_free(err);
    return rc == SQLITE_OK;
  }
  // The single integer the query yields, or -1.
  int64_t scalar(const std::string& sql) {
    int64_t v = -1;
    first_row(sql, [&](sqlite3_stmt* st) { v = sqlite3_column_int64(st, 0); });
    return v;
  }
  // The single text the query yields, or "".
  std::string text(const std::string& sql) {
    std::string v;
    first_row(sql, [&](sqlite3_stmt* st) {
      if (auto* p = sqlite3_column_text(st, 0)) v = reinterpret_cast<const char*>(p);
    });
    return v;
  }

 private:
  template <class Read>
  void first_row(const std::string& sql, Read&& read) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
      read(st);
    }
    sqlite3_finalize(st);
  }

  sqlite3* db_ = nullptr;
};

// A fresh directory per test, with file_ the database path in it; open() opens (or reopens) the store.
class SqliteFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir();
    ASSERT_NE(dir_, nullptr);
    file_ = *dir_ / "meta.db";
  }
  std::unique_ptr<SqliteStore> open() {
    auto s = SqliteStore::open(file_);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::shared_ptr<fs::path> dir_;
  fs::path file_;
};

}  // namespace berth::meta::sqlite_test
