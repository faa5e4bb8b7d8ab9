// A small JSON reader for what aikectl reads back from aiked (`list-sas --json` for doctor):
// objects, arrays, strings, numbers, booleans and null. Numbers are kept as text-parsed doubles
// and as unsigned 64-bit integers when they are whole and non-negative.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aike::cli {

struct json_value {
  enum class type { null, boolean, number, string, array, object } t = type::null;
  bool b = false;
  double num = 0;
  std::uint64_t u = 0;  // num as an integer when it is whole and >= 0
  std::string str;
  std::vector<json_value> items;
  std::map<std::string, json_value> fields;

  const json_value* get(const std::string& key) const;  // nullptr: not an object or no such key
  std::string string_or(const std::string& key, std::string fallback = {}) const;
  std::uint64_t uint_or(const std::string& key, std::uint64_t fallback = 0) const;
};

// Parses a whole document; nullopt with `error` set when it is not valid JSON.
std::optional<json_value> parse_json(std::string_view text, std::string& error);

}  // namespace aike::cli
