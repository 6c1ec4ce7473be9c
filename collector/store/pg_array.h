// A PostgreSQL array literal built element by element: how the PostgreSQL
// store passes a whole batch as one parameter per column, so that a batch is
// one statement (INSERT ... SELECT ... FROM unnest($1::bigint[], $2::text[],
// ...)) and one round trip to the server instead of one per row. libpqxx 6.4
// has no array parameters of its own.
//
// The literal is the text form of docs "Arrays, Array Value Input": every
// element double-quoted, '"' and '\' escaped with '\'. Text goes through
// PgText (no byte 0), bytes as bytea's hex form.
#ifndef ATMHEALTH_COLLECTOR_STORE_PG_ARRAY_H_
#define ATMHEALTH_COLLECTOR_STORE_PG_ARRAY_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace atmhealth::collector {

// PostgreSQL text cannot hold the byte 0; an agent's text that has one is
// stored with U+FFFD in its place (a payload column keeps the exact bytes).
std::string PgText(std::string_view text);

class PgArray {
 public:
  PgArray& Add(std::int64_t value);
  // NaN and the infinities as PostgreSQL spells them; others exactly (the
  // shortest text that reads back as the same double).
  PgArray& Add(double value);
  PgArray& Add(bool value);
  // Text, as PgText stores it.
  PgArray& Add(std::string_view text);
  PgArray& Add(const std::string& text) { return Add(std::string_view(text)); }
  PgArray& Add(const char* text) { return Add(std::string_view(text)); }
  // Any bytes, for a bytea[] parameter.
  PgArray& AddBytes(std::string_view bytes);

  std::size_t size() const { return size_; }
  // "{...}": the parameter's value.
  std::string Literal() const { return literal_ + "}"; }

 private:
  void Separate();

  std::string literal_ = "{";
  std::size_t size_ = 0;
};

}  // namespace atmhealth::collector

#endif  // ATMHEALTH_COLLECTOR_STORE_PG_ARRAY_H_
