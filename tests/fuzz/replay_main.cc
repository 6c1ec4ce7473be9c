// Runs a libFuzzer target without libFuzzer, so every build (GCC included)
// exercises the fuzz targets in ctest: every seed file given on the command
// line (files or directories), then a fixed number of deterministic
// mutations of them (bit flips, truncations, insertions, splices). The real
// coverage-guided fuzzing is the ATMHEALTH_FUZZ=ON build with clang.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

void Run(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}

std::string Mutate(const std::vector<std::string>& seeds, std::mt19937_64& random) {
  std::string input = seeds[random() % seeds.size()];
  const int edits = 1 + static_cast<int>(random() % 8);
  for (int i = 0; i < edits; ++i) {
    switch (random() % 6) {
      case 0:  // flip a bit
        if (!input.empty())
          input[random() % input.size()] ^= static_cast<char>(1u << (random() % 8));
        break;
      case 1:  // truncate
        if (!input.empty()) input.resize(random() % input.size());
        break;
      case 2:  // insert a random byte
        input.insert(input.begin() + static_cast<long>(input.empty() ? 0 : random() % input.size()),
                     static_cast<char>(random()));
        break;
      case 3:  // set a byte to an interesting value
        if (!input.empty()) {
          static const char kInteresting[] = {
              0, 1, 0x7f, static_cast<char>(0x80), static_cast<char>(0xff), '\n', '"', '[', '='};
          input[random() % input.size()] = kInteresting[random() % sizeof(kInteresting)];
        }
        break;
      case 4: {  // splice with another seed
        const std::string& other = seeds[random() % seeds.size()];
        if (!other.empty()) input += other.substr(random() % other.size());
        break;
      }
      default: {  // duplicate a slice
        if (input.size() > 1) {
          const std::size_t at = random() % input.size();
          input.insert(at, input.substr(at, random() % (input.size() - at)));
        }
        break;
      }
    }
  }
  return input;
}

std::string ReadAll(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> seeds;
  long iterations = 20000;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--iterations=", 0) == 0) {
      iterations = std::strtol(arg.c_str() + 13, nullptr, 10);
      continue;
    }
    const std::filesystem::path path(arg);
    if (std::filesystem::is_directory(path)) {
      for (const auto& entry : std::filesystem::directory_iterator(path)) {
        if (entry.is_regular_file()) seeds.push_back(ReadAll(entry.path()));
      }
    } else if (std::filesystem::is_regular_file(path)) {
      seeds.push_back(ReadAll(path));
    } else {
      std::fprintf(stderr, "%s: no such seed file or directory\n", arg.c_str());
      return 2;
    }
  }
  if (seeds.empty()) seeds.push_back("");
  for (const auto& seed : seeds) Run(seed);
  std::mt19937_64 random(0x61746d6865616c74);  // fixed: a failure is reproducible
  for (long i = 0; i < iterations; ++i) Run(Mutate(seeds, random));
  std::printf("%zu seeds and %ld mutations ran without a crash\n", seeds.size(), iterations);
  return 0;
}
