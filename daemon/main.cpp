// aiked: the IKEv2 daemon. Later issues add the actor system; for now it reports its version.
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--version")) {
      std::printf("aiked %s\n", AIKE_VERSION);
      return 0;
    }
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::printf("usage: aiked [--version] [--help]\n");
      return 0;
    }
    std::fprintf(stderr, "aiked: unknown option '%s' (try --help)\n", argv[i]);
    return 2;
  }
  std::printf("aiked %s\n", AIKE_VERSION);
  return 0;
}
