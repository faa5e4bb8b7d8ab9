#include "daemon/malloc_tuning.hpp"

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace aike::daemon {

void tune_malloc(char** argv) {
  const char* old = std::getenv("GLIBC_TUNABLES");
  std::string before = old ? old : "";
  if (before.find("glibc.malloc.tcache_count") != std::string::npos) return;
  std::string tunables = before;
  if (!tunables.empty()) tunables += ':';
  tunables += "glibc.malloc.tcache_count=" + std::to_string(malloc_tcache_count);
  // The resolved path, not /proc/self/exe itself: the process name (comm) comes from it.
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0 || static_cast<std::size_t>(n) >= sizeof self - 1) return;
  self[n] = '\0';
  if (::setenv("GLIBC_TUNABLES", tunables.c_str(), 1) != 0) return;
  ::execv(self, argv);
  // Still here: exec failed. Run on with the environment as it was.
  if (old)
    ::setenv("GLIBC_TUNABLES", before.c_str(), 1);
  else
    ::unsetenv("GLIBC_TUNABLES");
}

}  // namespace aike::daemon
