// tcd record: records one session in the foreground, prints its id as the last stdout line.
#include <signal.h>

#include <atomic>
#include <iostream>

#include <spdlog/spdlog.h>

#include "ingest/capture.h"
#include "node/chain_writer.h"
#include "node/session_recorder.h"
#include "node/store.h"
#include "tools/cli.h"

namespace tcd::tools {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};

void OnSignal(int sig) {
  g_signal.store(sig);
  g_stop.store(true);
}

void InstallSignalHandlers() {
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

struct RecordOptions {
  std::string data, node_key, source, format, audio_source, audio_format, point;
  std::vector<std::string> recipients, meta;
  double duration = 0, segment_seconds = 4.0;
  bool realtime = false;
  uint64_t min_free_mb = 64;
};

crypto::SealReason ReasonFor(const Status& run, const RecordOptions& o,
                             const node::SessionRecord& rec) {
  if (run.IsNoSpace()) return crypto::SealReason::kDiskFull;
  if (!run.ok() && !run.IsAborted()) return crypto::SealReason::kError;
  if (g_stop.load()) return crypto::SealReason::kStopped;
  if (o.duration > 0 && rec.media_duration_us >= (o.duration - o.segment_seconds) * 1e6)
    return crypto::SealReason::kDurationReached;
  return crypto::SealReason::kSourceEnded;
}

int RunRecord(const RecordOptions& o) {
  if (o.segment_seconds < 0.5 || o.segment_seconds > 60)
    return ReportError(Status::InvalidArgument("--segment-seconds must be between 0.5 and 60"),
                       kExitUsage);
  if (o.duration < 0)
    return ReportError(Status::InvalidArgument("--duration must be positive"), kExitUsage);
  std::vector<std::string> pairs = o.meta;
  if (!o.point.empty()) pairs.insert(pairs.begin(), "point=" + o.point);
  auto meta = ParseMetadata(pairs);
  if (!meta.ok()) return ReportError(meta.status(), kExitUsage);
  Status init = crypto::InitCrypto();
  if (!init.ok()) return ReportError(init);
  auto identity = LoadNodeKey(o.node_key);
  if (!identity.ok()) return ReportError(identity.status());
  std::vector<crypto::ArchivePublic> recipients;
  for (const auto& path : o.recipients) {
    auto pub = LoadArchivePub(path);
    if (!pub.ok()) return ReportError(pub.status());
    recipients.push_back(*pub);
  }

  ingest::CaptureOptions copts;
  copts.video = {o.source, o.format, {}};
  if (!o.audio_source.empty()) copts.audio = ingest::SourceSpec{o.audio_source, o.audio_format, {}};
  copts.segment_seconds = o.segment_seconds;
  if (o.duration > 0) copts.max_duration_seconds = o.duration;
  copts.realtime = o.realtime;
  // Open the source before touching the archive: an unreadable source stores nothing.
  auto capture = ingest::Capture::Open(copts, Env::Default());
  if (!capture.ok()) return ReportError(capture.status());

  node::StoreOptions sopts;
  sopts.min_free_bytes = o.min_free_mb << 20;
  auto store = node::Store::Open(Env::Default(), o.data, sopts);
  if (!store.ok()) return ReportError(store.status().WithContext("data directory " + o.data));
  auto closed = node::CloseInterruptedSessions(store->get(), *identity);
  if (!closed.ok()) return ReportError(closed.status());
  auto recorder = node::SessionRecorder::Start(store->get(), &*identity, recipients, *meta);
  if (!recorder.ok()) return ReportError(recorder.status());
  const std::string sid = crypto::SessionIdToString((*recorder)->id());
  std::cerr << "recording session " << sid << " from " << o.source << "\n";

  InstallSignalHandlers();
  Status run = (*capture)->Run(recorder->get(), &g_stop);
  if (!run.ok()) spdlog::error("capture stopped: {}", run.ToString());
  crypto::SealReason reason = ReasonFor(run, o, (*recorder)->record());
  Status seal = (*recorder)->Seal(reason);
  if (!seal.ok()) {
    ReportError(seal.WithContext("could not seal session " + sid +
                                 " (it stays unsealed and verifies up to its last segment)"));
  }
  const auto& rec = (*recorder)->record();
  std::cerr << "session " << sid << ": " << rec.segments << " segments, "
            << FormatDuration(rec.media_duration_us) << ", "
            << (seal.ok() ? std::string("sealed (") + crypto::SealReasonName(reason) + ")"
                          : "NOT sealed")
            << "\n";
  std::cout << sid << std::endl;
  if (!run.ok()) ReportError(run);
  return run.ok() && seal.ok() ? kExitOk : kExitFailed;
}

}  // namespace

Command AddRecord(CLI::App& root) {
  auto o = std::make_shared<RecordOptions>();
  CLI::App* app = root.add_subcommand("record", kRecordSummary);
  app->add_option("--data", o->data, "Archive data directory")->required();
  app->add_option("--node-key", o->node_key, "This node's node.key (signs the chain)")
      ->required();
  app->add_option("--recipient", o->recipients,
                  "archive.pub the session key is sealed to (repeatable)")
      ->required();
  app->add_option("--source", o->source,
                  "Anything libavformat opens: file, rtmp://, rtsp://, srt://, /dev/video0, "
                  "or a lavfi graph with --format lavfi")
      ->required();
  app->add_option("--format", o->format, "Input format (lavfi, v4l2, flv, …); default: probe");
  app->add_option("--audio-source", o->audio_source, "Separate audio input (ALSA, lavfi, …)");
  app->add_option("--audio-format", o->audio_format, "Format of --audio-source");
  app->add_option("--duration", o->duration, "Stop after this many seconds of media");
  app->add_option("--segment-seconds", o->segment_seconds, "Segment length (default 4)");
  app->add_option("--point", o->point, "Reception point id (metadata 'point')");
  app->add_option("--meta", o->meta,
                  "KEY=VALUE metadata: chair, case, type, participant (repeatable), note, …");
  app->add_flag("--realtime", o->realtime, "Read a file source at its native rate (like -re)");
  app->add_option("--min-free-mb", o->min_free_mb,
                  "Stop and seal when free disk space falls below this (default 64)");
  return {app, [o] { return RunRecord(*o); }};
}

}  // namespace tcd::tools
