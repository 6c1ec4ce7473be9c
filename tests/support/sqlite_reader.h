// Reads a SQLite database the way an operator would, with plain SQL, while
// the program that owns it keeps running: tests assert on what was stored.
#ifndef ATMHEALTH_TESTS_SUPPORT_SQLITE_READER_H_
#define ATMHEALTH_TESTS_SUPPORT_SQLITE_READER_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace atmhealth::testing {

using Row = std::map<std::string, std::string>;  // column name → value as text ("" for NULL)

// Runs `sql` on the database at `path`; an error (no file yet, a table not
// created yet, busy) gives no rows, so tests can poll with WaitFor.
std::vector<Row> Query(const std::filesystem::path& path, const std::string& sql);
// The first column of the first row as an integer; -1 when there is none.
std::int64_t QueryInt(const std::filesystem::path& path, const std::string& sql);

}  // namespace atmhealth::testing

#endif  // ATMHEALTH_TESTS_SUPPORT_SQLITE_READER_H_
