// `aiked --check-config`: validate a configuration file and say what is wrong, compiler style.
#pragma once
#include <ostream>
#include <string>

namespace aike::config {

// Prints every problem and warning to `err`, one line each ("aiked.toml:12:5: key: message",
// warnings with "warning: " after the location). If the file is valid, prints one summary line
// to `out` ("aiked.toml: OK, 3 connections, 2 secrets") and returns 0; otherwise prints
// "aiked.toml: N problem(s)" to `err` and returns 1.
int check_config(const std::string& path, std::ostream& out, std::ostream& err);

}  // namespace aike::config
