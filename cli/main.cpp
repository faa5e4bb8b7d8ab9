// aikectl: the control client. Later issues add the subcommands; for now it reports its version.
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc >= 2 && (!std::strcmp(argv[1], "version") || !std::strcmp(argv[1], "--version"))) {
    std::printf("aikectl %s\n", AIKE_VERSION);
    return 0;
  }
  if (argc >= 2 && std::strcmp(argv[1], "--help") && std::strcmp(argv[1], "-h")) {
    std::fprintf(stderr, "aikectl: unknown command '%s' (try --help)\n", argv[1]);
    return 2;
  }
  std::printf("usage: aikectl version\n");
  return 0;
}
