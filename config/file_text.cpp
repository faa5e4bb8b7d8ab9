#include "config/file_text.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

namespace aike::config {

namespace {

error cannot(const char* what, const std::string& path, int err) {
  return make_error(errc::invalid_argument, std::string("cannot ") + what + " '" + path + "': " + std::strerror(err));
}

struct file_closer {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

result<std::string> read_text_file(const std::string& path, std::size_t max_bytes) {
  if (path.empty()) return make_error(errc::invalid_argument, "empty file name");
  errno = 0;
  std::unique_ptr<std::FILE, file_closer> f(std::fopen(path.c_str(), "rb"));
  if (!f) return cannot("read", path, errno);
  std::string out;
  char buf[8192];
  for (;;) {
    std::size_t n = std::fread(buf, 1, sizeof buf, f.get());
    out.append(buf, n);
    if (out.size() > max_bytes)
      return make_error(errc::invalid_argument, "'" + path + "' is larger than " + std::to_string(max_bytes) + " bytes");
    if (n < sizeof buf) {
      if (std::ferror(f.get())) return cannot("read", path, errno != 0 ? errno : EIO);
      break;
    }
  }
  return out;
}

std::string resolve_path(std::string_view base_dir, std::string_view path) {
  std::filesystem::path p{std::string(path)};
  if (p.is_absolute() || base_dir.empty() || path.empty()) return std::string(path);
  return (std::filesystem::path(std::string(base_dir)) / p).lexically_normal().string();
}

std::string folder_of(std::string_view file) {
  return std::filesystem::path(std::string(file)).parent_path().string();
}

status check_executable(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return cannot("execute", path, errno);
  if (!S_ISREG(st.st_mode)) return make_error(errc::invalid_argument, "cannot execute '" + path + "': not a regular file");
  if (::access(path.c_str(), X_OK) != 0) return cannot("execute", path, errno);
  return ok_v;
}

}  // namespace aike::config
