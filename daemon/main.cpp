// aiked: the IKEv2 daemon. Later issues add the actor system; for now it runs the engine's
// self-check and reports its version.
#include <cstdio>
#include <cstring>

#include "daemon/self_test.hpp"

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--version")) {
      std::printf("aiked %s\n", AIKE_VERSION);
      return 0;
    }
    if (!std::strcmp(argv[i], "--self-test")) return aike::daemon::run_self_test();
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::printf("usage: aiked [--self-test] [--version] [--help]\n"
                  "  --self-test  negotiate IKE SAs between two in-memory engines and print them\n");
      return 0;
    }
    std::fprintf(stderr, "aiked: unknown option '%s' (try --help)\n", argv[i]);
    return 2;
  }
  std::printf("aiked %s\n", AIKE_VERSION);
  return 0;
}
