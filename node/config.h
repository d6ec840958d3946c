// NodeConfig: the configuration of `tcd node --config FILE` (TOML; the commented example is
// ops/recorder.example.toml). Parsing validates everything and refuses a bad config with an
// InvalidArgument that names the file, the key and the problem
// ("recorder.toml: source[1].url: missing"), so the daemon never starts half-configured.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "crypto/chain.h"

namespace tcd::node {

struct SourceConfig {
  enum class Mode {
    kAuto,      // record whenever the source is live
    kSchedule,  // record when live and inside a [[schedule]] window
    kManual,    // record only between `tcd session start` and `tcd session stop`
  };
  std::string name;          // unique; used by `tcd session start --source NAME`
  std::string url;           // anything libavformat opens (rtmp://, rtsp://, srt://, /dev/video0…)
  std::string format;        // input format; empty = probe
  std::string audio_url;     // optional separate audio input (ALSA device…)
  std::string audio_format;
  Mode mode = Mode::kAuto;
  bool realtime = false;     // pace a file source at its native rate (tests, demos)
  crypto::Metadata meta;     // default metadata of this source's sessions (validated keys)
};
const char* SourceModeName(SourceConfig::Mode m);

// A weekly reception window in local time: days (bit 0 = Monday … bit 6 = Sunday),
// [start_minute, end_minute) minutes after local midnight.
struct ScheduleWindow {
  uint8_t days = 0;
  int start_minute = 0;
  int end_minute = 0;
};

// A bandwidth cap of the upstream link inside a weekly window ([[upstream.cap]]).
struct CapConfig {
  ScheduleWindow when;
  double mbit = 0;  // Mbit/s; 0 = unlimited inside the window
};

// [upstream]: where this node replicates to (recorder → province, province → central).
struct UpstreamConfig {
  std::string address;            // tcp://host:port of the upstream's `listen`
  std::string public_key;         // the upstream's node.pub file (its CurveZMQ server key)
  double max_mbit = 0;            // cap outside every window; 0 = unlimited
  std::vector<CapConfig> caps;    // [[upstream.cap]], the first matching window wins
};

struct NodeConfig {
  std::string path;                     // the file it was read from (for messages)
  std::string role;                     // "recorder" | "province" | "central"
  std::string data_dir;                 // required; created if missing
  std::string node_key;                 // required: node.key
  std::vector<std::string> recipients;  // archive.pub files; required (≥1) for a recorder
  std::string point;                    // this reception point's id (metadata "point")
  std::string control_socket;           // default: <data_dir>/control.sock
  std::string log_level = "info";       // trace|debug|info|warn|error
  double segment_seconds = 4.0;         // [recording] 0.5 … 60
  double grace_seconds = 60.0;          // [recording] dropout shorter → same session + gap
  double reconnect_max_backoff_seconds = 10.0;  // [recording] cap of the retry backoff
  uint64_t warn_free_mb = 2048;         // [disk] warn below this much free space
  uint64_t min_free_mb = 256;           // [disk] refuse new media below this (seal cleanly)
  std::vector<SourceConfig> sources;    // [[source]]
  std::vector<ScheduleWindow> schedule; // [[schedule]]
  std::string listen;                   // province, central: replication listen address
  bool has_upstream = false;            // [upstream] given (required for a province)
  UpstreamConfig upstream;
  double retention_days = 0;            // [retention] days: recorder evicts media this long
                                        // after central custody; 0 = never
};

// Parses TOML text; `source_name` names the file in messages. Validates: role, required keys,
// types, ranges, unique source names, metadata keys and values (as `tcd record --meta`),
// schedule days ("mon".."sun") and "HH:MM" times with start < end, unknown keys (a typo must
// not be silently ignored).
Result<NodeConfig> ParseConfig(std::string_view toml_text, const std::string& source_name);
// Reads and parses a file (NotFound / Permission name the path).
Result<NodeConfig> LoadConfig(const std::string& path);

// True when local time `t` falls inside one of the windows.
bool InSchedule(const std::vector<ScheduleWindow>& windows, std::time_t t);

// Validates session metadata pairs like `tcd record --meta` (shared by config and CLI).
Status ValidateMetadata(const crypto::Metadata& meta);

}  // namespace tcd::node
