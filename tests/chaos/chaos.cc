// atmhealth-chaos: kills the real agents and the real collector with SIGKILL
// at random moments, many times, while alerts flow, then checks that every
// event an agent committed is at the collector exactly once and in order.
//
//   atmhealth-chaos --seed 1 --kills 500 --agents 3
//
// Alerts flow because each agent watches a tmpfs of its own that a filler
// thread fills past critical and empties again at random intervals (each
// change is one event: critical fired, resolved). Between kills it waits a
// random time in [--min-gap-ms, --max-gap-ms], picks the collector or one
// agent at random, SIGKILLs it and starts it again at once (the collector on
// the same port, over the same database; the agent over the same buffer).
// After the last kill the disks are left empty and the agents get
// --settle-s seconds to deliver everything.
//
// Then, per agent, it compares the agent's buffer (every event it committed:
// seq and wall time of detection) with the collector's database and prints
//
//   kills, events committed, events at the collector, lost, duplicated,
//   out of order, mismatched
//
// Exit code 0 only when lost, duplicated, out of order and mismatched are
// all 0 and events flowed; 1 otherwise; 2 on bad flags. Needs root (tmpfs).
// The short form runs under ctest (tests/chaos/CMakeLists.txt); the long
// form's figures are in BENCHMARKS.md.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "platform/asio.h"
#include "tests/integration/harness.h"
#include "tests/support/process.h"
#include "tests/support/sqlite_reader.h"
#include "tests/support/test_paths.h"
#include "tests/support/tmpfs.h"

namespace atmhealth::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kDiskBytes = 2 * 1024 * 1024;
constexpr std::size_t kFillBytes = kDiskBytes * 95 / 100;  // past critical (90 %)

struct ChaosOptions {
  std::uint64_t seed = 1;
  int kills = 100;
  int agents = 2;
  int min_gap_ms = 200;
  int max_gap_ms = 1500;
  int settle_s = 120;
};

// What the comparison found for one device.
struct Tally {
  std::uint64_t committed = 0;     // events in the agent's buffer
  std::uint64_t at_collector = 0;  // rows at the collector
  std::uint64_t lost = 0;          // committed, not at the collector
  std::uint64_t duplicated = 0;    // at the collector more than once
  std::uint64_t out_of_order = 0;  // stored after an event with a higher seq
  std::uint64_t mismatched = 0;    // same seq, different event
  std::uint64_t extra = 0;         // at the collector, not in the buffer
};

// Fills and empties each disk at random intervals until stopped; leaves
// every disk empty.
class Filler {
 public:
  Filler(std::vector<std::filesystem::path> disks, std::uint64_t seed)
      : disks_(std::move(disks)), random_(seed), thread_([this] { Run(); }) {}
  ~Filler() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::uint64_t changes() const { return changes_; }

 private:
  void Run() {
    std::vector<bool> full(disks_.size(), false);
    std::uniform_int_distribution<int> pause(150, 600);
    std::uniform_int_distribution<std::size_t> pick(0, disks_.size() - 1);
    while (!stop_) {
      const std::size_t i = pick(random_);
      if (full[i]) {
        std::filesystem::remove(disks_[i] / "fill");
      } else {
        FillFile(disks_[i] / "fill", kFillBytes);
      }
      full[i] = !full[i];
      ++changes_;
      std::this_thread::sleep_for(milliseconds(pause(random_)));
    }
    for (const auto& disk : disks_) std::filesystem::remove(disk / "fill");
  }

  std::vector<std::filesystem::path> disks_;
  std::mt19937_64 random_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> changes_{0};
  std::thread thread_;
};

class Chaos {
 public:
  explicit Chaos(const ChaosOptions& options) : options_(options), random_(options.seed) {}

  int Run() {
    const std::uint16_t port = FreePort();
    std::vector<std::unique_ptr<TmpfsMount>> disks;
    std::vector<std::filesystem::path> disk_paths;
    for (int i = 0; i < options_.agents; ++i) {
      disks.push_back(std::make_unique<TmpfsMount>(scratch_ / ("disk-" + std::to_string(i)),
                                                   "size=" + std::to_string(kDiskBytes)));
      if (!disks.back()->mounted()) {
        std::fprintf(stderr, "atmhealth-chaos: cannot mount a tmpfs (run as root)\n");
        return 1;
      }
      disk_paths.push_back(disks.back()->path());
      AgentOptions agent;
      agent.device_id = "atm-chaos-" + std::to_string(i);
      agent.collector_port = port;
      agent.watched = disk_paths.back();
      agent.store = scratch_ / (agent.device_id + ".events.db");
      agent.sample_interval = "100ms";
      agent.heartbeat_interval = "500ms";
      agent_options_.push_back(agent);
    }
    collector_ = StartCollector(port);
    if (collector_ == nullptr) return 1;
    for (const AgentOptions& agent : agent_options_) agents_.push_back(StartAgent(agent));

    Filler filler(disk_paths, options_.seed + 1);
    std::uniform_int_distribution<int> gap(options_.min_gap_ms, options_.max_gap_ms);
    std::uniform_int_distribution<int> victim(0, options_.agents);  // 0: the collector
    int collector_kills = 0;
    int agent_kills = 0;
    for (int kill = 0; kill < options_.kills; ++kill) {
      std::this_thread::sleep_for(milliseconds(gap(random_)));
      const int who = victim(random_);
      if (who == 0) {
        Kill(collector_->process());
        collector_ = StartCollector(port);
        if (collector_ == nullptr) return 1;
        ++collector_kills;
      } else {
        Kill(agents_[who - 1]->process());
        agents_[who - 1] = StartAgent(agent_options_[who - 1]);
        ++agent_kills;
      }
    }
    filler.Stop();
    const bool settled = Settle();

    std::map<std::string, Tally> tallies;
    Tally total;
    for (const AgentOptions& agent : agent_options_) {
      const Tally tally = Compare(agent);
      tallies[agent.device_id] = tally;
      total.committed += tally.committed;
      total.at_collector += tally.at_collector;
      total.lost += tally.lost;
      total.duplicated += tally.duplicated;
      total.out_of_order += tally.out_of_order;
      total.mismatched += tally.mismatched;
      total.extra += tally.extra;
    }
    for (auto& agent : agents_) agent->process().Stop();
    collector_->process().Stop();

    for (const auto& [device, tally] : tallies) {
      std::printf(
          "  %s: committed %llu, at collector %llu, lost %llu, duplicated %llu, "
          "out of order %llu, mismatched %llu, extra %llu\n",
          device.c_str(), static_cast<unsigned long long>(tally.committed),
          static_cast<unsigned long long>(tally.at_collector),
          static_cast<unsigned long long>(tally.lost),
          static_cast<unsigned long long>(tally.duplicated),
          static_cast<unsigned long long>(tally.out_of_order),
          static_cast<unsigned long long>(tally.mismatched),
          static_cast<unsigned long long>(tally.extra));
    }
    std::printf(
        "atmhealth-chaos: seed %llu, %d kills (collector %d, agents %d), %d agents, %llu disk "
        "changes; events committed %llu, at collector %llu; lost %llu, duplicated %llu, out of "
        "order %llu, mismatched %llu, extra %llu; %s\n",
        static_cast<unsigned long long>(options_.seed), collector_kills + agent_kills,
        collector_kills, agent_kills, options_.agents,
        static_cast<unsigned long long>(filler.changes()),
        static_cast<unsigned long long>(total.committed),
        static_cast<unsigned long long>(total.at_collector),
        static_cast<unsigned long long>(total.lost),
        static_cast<unsigned long long>(total.duplicated),
        static_cast<unsigned long long>(total.out_of_order),
        static_cast<unsigned long long>(total.mismatched),
        static_cast<unsigned long long>(total.extra),
        settled ? "every agent delivered its buffer" : "NOT every buffer was delivered in time");
    const bool clean = settled && total.committed > 0 && total.lost == 0 && total.duplicated == 0 &&
                       total.out_of_order == 0 && total.mismatched == 0 && total.extra == 0;
    if (!clean) PrintLogTails();
    return clean ? 0 : 1;
  }

 private:
  std::unique_ptr<CollectorProcess> StartCollector(std::uint16_t port) {
    // The port may linger for a moment after a kill; try a few times.
    for (int attempt = 0; attempt < 20; ++attempt) {
      auto collector = std::make_unique<CollectorProcess>(scratch_ / "collector",
                                                          scratch_ / "collector.db", port);
      if (collector->agent_port() == port) return collector;
      std::this_thread::sleep_for(milliseconds(100));
    }
    std::fprintf(stderr, "atmhealth-chaos: the collector did not start again on port %u\n", port);
    PrintLogTails();
    return nullptr;
  }

  std::unique_ptr<AgentProcess> StartAgent(const AgentOptions& options) {
    return std::make_unique<AgentProcess>(scratch_ / options.device_id, options);
  }

  static void Kill(Process& process) {
    process.Signal(SIGKILL);
    process.Wait(milliseconds(10'000));
  }

  // Waits until every agent's buffer is acknowledged and stays so; false
  // when --settle-s passed first.
  bool Settle() {
    const auto deadline = Clock::now() + std::chrono::seconds(options_.settle_s);
    int quiet_rounds = 0;
    while (Clock::now() < deadline) {
      bool delivered = true;
      for (const AgentOptions& agent : agent_options_) {
        const auto meta = Query(agent.store, "SELECT last_seq, delivered_seq FROM meta");
        if (meta.empty() || meta[0].at("last_seq") != meta[0].at("delivered_seq")) {
          delivered = false;
        }
      }
      quiet_rounds = delivered ? quiet_rounds + 1 : 0;
      if (quiet_rounds >= 10) return true;  // 2 s without anything undelivered
      std::this_thread::sleep_for(milliseconds(200));
    }
    return false;
  }

  Tally Compare(const AgentOptions& agent) const {
    Tally tally;
    // seq -> the device's wall time at detection, in nanoseconds: what tells
    // two events apart (the two stores spell kind and state differently).
    std::map<std::uint64_t, std::string> committed;
    for (const Row& row : Query(agent.store, "SELECT seq, wall_time_unix_ns FROM events")) {
      committed[std::stoull(row.at("seq"))] = row.at("wall_time_unix_ns");
    }
    tally.committed = committed.size();
    const auto stored =
        Query(scratch_ / "collector.db",
              "SELECT seq, wall_time_unix_ns, alert_key FROM events WHERE device_id = '" +
                  agent.device_id + "' ORDER BY rowid");
    tally.at_collector = stored.size();
    std::map<std::uint64_t, int> seen;
    std::set<std::string> contents;
    std::uint64_t previous = 0;
    for (const Row& row : stored) {
      const std::uint64_t seq = std::stoull(row.at("seq"));
      if (seq <= previous) ++tally.out_of_order;
      previous = std::max(previous, seq);
      if (++seen[seq] > 1) ++tally.duplicated;
      // The same event under two sequences is a duplicate too. One sample
      // can fire several alerts at the same wall time (space and inodes of
      // one mount), so an event is its wall time and its alert key.
      const std::string content = row.at("wall_time_unix_ns") + " " + row.at("alert_key");
      if (!contents.insert(content).second && seen[seq] == 1) {
        ++tally.duplicated;
        std::fprintf(stderr, "%s: seq %llu repeats an event stored under another seq: %s\n",
                     agent.device_id.c_str(), static_cast<unsigned long long>(seq),
                     content.c_str());
      }
      const auto it = committed.find(seq);
      if (it == committed.end()) {
        ++tally.extra;
      } else if (it->second != row.at("wall_time_unix_ns")) {
        ++tally.mismatched;
      }
    }
    for (const auto& [seq, unused] : committed) {
      if (seen.count(seq) == 0) ++tally.lost;
    }
    return tally;
  }

  void PrintLogTails() const {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(scratch_.path())) {
      if (entry.path().extension() != ".log") continue;
      const std::string log = ReadFile(entry.path());
      std::fprintf(stderr, "----- %s (last 4000 bytes) -----\n%s\n", entry.path().c_str(),
                   log.substr(log.size() > 4000 ? log.size() - 4000 : 0).c_str());
    }
  }

  ChaosOptions options_;
  std::mt19937_64 random_;
  ScratchDir scratch_;
  std::vector<AgentOptions> agent_options_;
  std::unique_ptr<CollectorProcess> collector_;
  std::vector<std::unique_ptr<AgentProcess>> agents_;
};

}  // namespace
}  // namespace atmhealth::testing

int main(int argc, char** argv) {
  atmhealth::testing::ChaosOptions options;
  CLI::App app{
      "atmhealth-chaos: SIGKILLs the agents and the collector at random while alerts "
      "flow, then checks every committed event is at the collector once and in order",
      "atmhealth-chaos"};
  app.add_option("--seed", options.seed, "random seed (kill times, victims, disk changes)");
  app.add_option("--kills", options.kills, "SIGKILLs in all")->check(CLI::Range(0, 1'000'000));
  app.add_option("--agents", options.agents, "agent processes")->check(CLI::Range(1, 32));
  app.add_option("--min-gap-ms", options.min_gap_ms, "shortest time between kills, ms")
      ->check(CLI::Range(10, 600'000));
  app.add_option("--max-gap-ms", options.max_gap_ms, "longest time between kills, ms")
      ->check(CLI::Range(10, 600'000));
  app.add_option("--settle-s", options.settle_s,
                 "seconds the agents get to deliver everything after the last kill")
      ->check(CLI::Range(1, 3600));
  CLI11_PARSE(app, argc, argv);
  if (options.max_gap_ms < options.min_gap_ms) {
    std::fprintf(stderr, "atmhealth-chaos: --max-gap-ms is below --min-gap-ms\n");
    return 2;
  }
  return atmhealth::testing::Chaos(options).Run();
}
