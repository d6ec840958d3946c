#include "node/config.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace tcd::node {
namespace {

namespace fs = std::filesystem;

const char kBase[] = R"(
role = "recorder"
data_dir = "/var/lib/tcd"
node_key = "/etc/tcd/node.key"
recipients = ["/etc/tcd/a.pub"]
)";

// A minimal valid config with `extra` appended.
std::string With(const std::string& extra) { return std::string(kBase) + extra; }

// Expects `text` to be refused with InvalidArgument naming "recorder.toml: <key>: ".
void ExpectRejected(const std::string& text, const std::string& key,
                    const std::string& problem = "") {
  auto r = ParseConfig(text, "recorder.toml");
  ASSERT_FALSE(r.ok()) << "accepted; expected an error naming " << key << "\n" << text;
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("recorder.toml: " + key + ": "), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find(problem), std::string::npos) << r.status().message();
}

TEST(ConfigTest, ProvinceAndCentralExamplesParse) {
  auto p = LoadConfig(std::string(TCD_EXAMPLE_DIR) + "/province.example.toml");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->role, "province");
  EXPECT_TRUE(p->has_upstream);
  auto c = LoadConfig(std::string(TCD_EXAMPLE_DIR) + "/central.example.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->has_upstream);
  EXPECT_EQ(c->listen, "tcp://0.0.0.0:7701");
}

TEST(ConfigTest, ExampleFileParses) {
  auto r = LoadConfig(TCD_EXAMPLE_CONFIG);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const NodeConfig& c = *r;
  EXPECT_EQ(c.path, TCD_EXAMPLE_CONFIG);
  EXPECT_EQ(c.role, "recorder");
  EXPECT_EQ(c.data_dir, "/var/lib/tcd");
  EXPECT_EQ(c.node_key, "/etc/tcd/node.key");
  EXPECT_EQ(c.recipients, (std::vector<std::string>{"/etc/tcd/province-archive.pub",
                                                    "/etc/tcd/central-archive.pub"}));
  EXPECT_EQ(c.point, "xa-tan-phu");
  EXPECT_EQ(c.control_socket, "/run/tcd/control.sock");
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.segment_seconds, 4.0);
  EXPECT_EQ(c.grace_seconds, 60.0);
  EXPECT_EQ(c.reconnect_max_backoff_seconds, 10.0);
  EXPECT_EQ(c.warn_free_mb, 2048u);
  EXPECT_EQ(c.min_free_mb, 256u);
  ASSERT_EQ(c.sources.size(), 2u);
  const SourceConfig& s = c.sources[0];
  EXPECT_EQ(s.name, "conference");
  EXPECT_EQ(s.url, "rtmp://127.0.0.1/live/room1");
  EXPECT_EQ(s.format, "flv");
  EXPECT_EQ(s.audio_url, "hw:0");
  EXPECT_EQ(s.audio_format, "alsa");
  EXPECT_EQ(s.mode, SourceConfig::Mode::kAuto);
  EXPECT_FALSE(s.realtime);
  // In the file's order, participant expanded into repeated keys.
  EXPECT_EQ(s.meta, (crypto::Metadata{{"chair", "Trần Thị Bình"},
                                      {"participant", "Nguyễn Văn An"},
                                      {"participant", "Lê Thị Cúc"}}));
  EXPECT_EQ(c.sources[1].name, "room-camera");
  EXPECT_EQ(c.sources[1].mode, SourceConfig::Mode::kSchedule);
  EXPECT_TRUE(c.sources[1].meta.empty());
  ASSERT_EQ(c.schedule.size(), 2u);
  EXPECT_EQ(c.schedule[0].days, (1 << 0) | (1 << 3));  // mon, thu
  EXPECT_EQ(c.schedule[0].start_minute, 8 * 60);
  EXPECT_EQ(c.schedule[0].end_minute, 11 * 60 + 30);
  EXPECT_EQ(c.schedule[1].start_minute, 13 * 60 + 30);
}

TEST(ConfigTest, DefaultsOfOptionalKeys) {
  auto r = ParseConfig(With("[[source]]\nname = \"a\"\nurl = \"rtmp://x/y\"\n"), "n.toml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->control_socket, "/var/lib/tcd/control.sock");
  EXPECT_EQ(r->log_level, "info");
  EXPECT_EQ(r->segment_seconds, 4.0);
  EXPECT_EQ(r->grace_seconds, 60.0);
  EXPECT_EQ(r->warn_free_mb, 2048u);
  ASSERT_EQ(r->sources.size(), 1u);
  EXPECT_EQ(r->sources[0].mode, SourceConfig::Mode::kAuto);
  EXPECT_TRUE(r->sources[0].format.empty());
  EXPECT_STREQ(SourceModeName(r->sources[0].mode), "auto");
  EXPECT_STREQ(SourceModeName(SourceConfig::Mode::kSchedule), "schedule");
  EXPECT_STREQ(SourceModeName(SourceConfig::Mode::kManual), "manual");
}

TEST(ConfigTest, IntegersAcceptedAsDoublesAndParticipantAsString) {
  auto r = ParseConfig(With("[recording]\nsegment_seconds = 2.5\ngrace_seconds = 0\n"
                            "[[source]]\nname = \"a\"\nurl = \"u\"\n"
                            "[source.meta]\nparticipant = \"An\"\ntype = \"petition\"\n"),
                       "n.toml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->segment_seconds, 2.5);
  EXPECT_EQ(r->grace_seconds, 0.0);
  EXPECT_EQ(r->sources[0].meta, (crypto::Metadata{{"participant", "An"}, {"type", "petition"}}));
}

TEST(ConfigTest, ProvinceNeedsNoRecipients) {
  auto r = ParseConfig("role = \"province\"\ndata_dir = \"d\"\nnode_key = \"k\"\n"
                       "listen = \"tcp://0.0.0.0:7701\"\n"
                       "[upstream]\naddress = \"tcp://central:7701\"\npublic_key = \"c.pub\"\n",
                       "p.toml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->recipients.empty());
  EXPECT_TRUE(r->has_upstream);
  EXPECT_EQ(r->listen, "tcp://0.0.0.0:7701");
}

TEST(ConfigTest, ReplicationKeys) {
  const std::string rec = "role = \"recorder\"\ndata_dir = \"d\"\nnode_key = \"k\"\n"
                          "recipients = [\"r\"]\n";
  auto r = ParseConfig(rec + "[upstream]\naddress = \"tcp://10.0.0.2:7701\"\n"
                             "public_key = \"p.pub\"\nmax_mbit = 0\n"
                             "[[upstream.cap]]\ndays = [\"mon\", \"fri\"]\nstart = \"07:30\"\n"
                             "end = \"17:30\"\nmbit = 1.5\n[retention]\ndays = 30\n",
                       "recorder.toml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->upstream.caps.size(), 1u);
  EXPECT_EQ(r->upstream.caps[0].mbit, 1.5);
  EXPECT_EQ(r->upstream.caps[0].when.days, 0x11);
  EXPECT_EQ(r->upstream.caps[0].when.start_minute, 450);
  EXPECT_EQ(r->retention_days, 30.0);
  ExpectRejected(rec + "listen = \"tcp://0.0.0.0:1\"\n", "listen", "a recorder");
  ExpectRejected(rec + "[upstream]\naddress = \"10.0.0.2:7701\"\npublic_key = \"p\"\n",
                 "upstream.address", "tcp://");
  ExpectRejected(rec + "[upstream]\naddress = \"tcp://h:1\"\n", "upstream.public_key",
                 "missing");
  ExpectRejected(rec + "[upstream]\naddress = \"tcp://h:1\"\npublic_key = \"p\"\n"
                       "[[upstream.cap]]\ndays = [\"mon\"]\nstart = \"08:00\"\nend = \"09:00\"\n",
                 "upstream.cap[0].mbit", "missing");
  ExpectRejected(rec + "[upstream]\naddress = \"tcp://h:1\"\npublic_key = \"p\"\nrate = 1\n",
                 "upstream.rate");
  ExpectRejected("role = \"province\"\ndata_dir = \"d\"\nnode_key = \"k\"\n"
                 "listen = \"tcp://0.0.0.0:1\"\n",
                 "upstream", "missing");
  ExpectRejected("role = \"central\"\ndata_dir = \"d\"\nnode_key = \"k\"\n", "listen",
                 "missing");
  ExpectRejected("role = \"central\"\ndata_dir = \"d\"\nnode_key = \"k\"\n"
                 "listen = \"tcp://0.0.0.0:1\"\n[retention]\ndays = 1\n",
                 "retention", "only a recorder");
}

TEST(ConfigTest, TopLevelRules) {
  ExpectRejected("data_dir = \"d\"\nnode_key = \"k\"\nrecipients = [\"r\"]\n", "role", "missing");
  ExpectRejected("role = \"relay\"\ndata_dir = \"d\"\nnode_key = \"k\"\nrecipients = [\"r\"]\n",
                 "role", "got 'relay'");
  ExpectRejected("role = \"recorder\"\nnode_key = \"k\"\nrecipients = [\"r\"]\n", "data_dir",
                 "missing");
  ExpectRejected("role = \"recorder\"\ndata_dir = \"\"\nnode_key = \"k\"\nrecipients = [\"r\"]\n",
                 "data_dir", "empty");
  ExpectRejected("role = \"recorder\"\ndata_dir = \"d\"\nrecipients = [\"r\"]\n", "node_key",
                 "missing");
  ExpectRejected("role = \"recorder\"\ndata_dir = \"d\"\nnode_key = \"k\"\n", "recipients");
  ExpectRejected("role = \"recorder\"\ndata_dir = \"d\"\nnode_key = \"k\"\nrecipients = []\n",
                 "recipients");
  ExpectRejected("role = \"recorder\"\ndata_dir = \"d\"\nnode_key = \"k\"\nrecipients = \"r\"\n",
                 "recipients", "array of strings");
  ExpectRejected("role = \"recorder\"\ndata_dir = \"d\"\nnode_key = \"k\"\nrecipients = [1]\n",
                 "recipients[0]", "must be a string");
  ExpectRejected("role = 7\ndata_dir = \"d\"\nnode_key = \"k\"\n", "role", "must be a string");
  ExpectRejected(With("log_level = \"verbose\"\n"), "log_level", "got 'verbose'");
}

TEST(ConfigTest, UnknownKeysAtEveryLevel) {
  ExpectRejected(With("data_dri = \"x\"\n"), "data_dri", "unknown key");
  ExpectRejected(With("[recording]\ngrace_secs = 5\n"), "recording.grace_secs", "unknown key");
  ExpectRejected(With("[disk]\nmin_free = 5\n"), "disk.min_free", "unknown key");
  ExpectRejected(With("[[source]]\nname = \"a\"\nurl = \"u\"\nmdoe = \"auto\"\n"), "source[0].mdoe",
                 "unknown key");
  ExpectRejected(With("[[schedule]]\ndays = [\"mon\"]\nstart = \"08:00\"\nend = \"09:00\"\n"
                      "stop = \"10:00\"\n"),
                 "schedule[0].stop", "unknown key");
  ExpectRejected(With("[source]\nname = \"a\"\n"), "source", "[[source]]");
  ExpectRejected(With("recording = 5\n"), "recording", "table");
}

TEST(ConfigTest, NumberRanges) {
  ExpectRejected(With("[recording]\nsegment_seconds = 0.4\n"), "recording.segment_seconds",
                 "between 0.5 and 60");
  ExpectRejected(With("[recording]\nsegment_seconds = 61\n"), "recording.segment_seconds");
  ExpectRejected(With("[recording]\nsegment_seconds = nan\n"), "recording.segment_seconds");
  ExpectRejected(With("[recording]\ngrace_seconds = -1\n"), "recording.grace_seconds",
                 "must be between 0 and 86400");
  ExpectRejected(With("[recording]\ngrace_seconds = 86401\n"), "recording.grace_seconds");
  ExpectRejected(With("[recording]\ngrace_seconds = \"60\"\n"), "recording.grace_seconds",
                 "must be a number");
  ExpectRejected(With("[recording]\nreconnect_max_backoff_seconds = 0.1\n"),
                 "recording.reconnect_max_backoff_seconds", "between 0.5 and 3600");
  ExpectRejected(With("[recording]\nreconnect_max_backoff_seconds = 3601\n"),
                 "recording.reconnect_max_backoff_seconds");
  ExpectRejected(With("[disk]\nwarn_free_mb = 100\nmin_free_mb = 200\n"), "disk.warn_free_mb",
                 "at least");
  ExpectRejected(With("[disk]\nmin_free_mb = -1\nwarn_free_mb = 1\n"), "disk.min_free_mb");
  ExpectRejected(With("[disk]\nmin_free_mb = 1.5\n"), "disk.min_free_mb", "whole number");
}

TEST(ConfigTest, SourceRules) {
  ExpectRejected(With("[[source]]\nurl = \"u\"\n"), "source[0].name", "missing");
  ExpectRejected(With("[[source]]\nname = \"\"\nurl = \"u\"\n"), "source[0].name");
  ExpectRejected(With("[[source]]\nname = \"room 1\"\nurl = \"u\"\n"), "source[0].name");
  ExpectRejected(With("[[source]]\nname = \"a\"\nurl = \"u\"\n"
                      "[[source]]\nname = \"a\"\nurl = \"v\"\n"),
                 "source[1].name", "used by another source");
  ExpectRejected(With("[[source]]\nname = \"a\"\n"), "source[0].url", "missing");
  ExpectRejected(With("[[source]]\nname = \"a\"\nurl = \"u\"\n"
                      "[[source]]\nname = \"b\"\nurl = \"u\"\nmode = \"always\"\n"),
                 "source[1].mode", "must be auto, schedule or manual (got 'always')");
  ExpectRejected(With("[[source]]\nname = \"a\"\nurl = \"u\"\nmode = \"schedule\"\n"),
                 "source[0].mode", "[[schedule]]");
  ExpectRejected(With("[[source]]\nname = \"a\"\nurl = \"u\"\nrealtime = \"yes\"\n"),
                 "source[0].realtime", "true or false");
}

TEST(ConfigTest, SourceMetadataRules) {
  auto src = [](const std::string& meta) {
    return With("[[source]]\nname = \"a\"\nurl = \"u\"\n[source.meta]\n" + meta);
  };
  ExpectRejected(src("type = \"rumour\"\n"), "source[0].meta", "complaint");
  ExpectRejected(src("Chair = \"x\"\n"), "source[0].meta", "metadata key 'Chair'");
  ExpectRejected(src("chair = [\"x\", \"y\"]\n"), "source[0].meta.chair", "must be a string");
  ExpectRejected(src("participant = [\"x\", 3]\n"), "source[0].meta.participant[1]");
  ExpectRejected(src("note = \"" + std::string(4097, 'n') + "\"\n"), "source[0].meta", "4 KiB");
}

TEST(ConfigTest, ScheduleRules) {
  auto win = [](const std::string& days, const std::string& start, const std::string& end) {
    return With("[[schedule]]\ndays = " + days + "\nstart = " + start + "\nend = " + end + "\n");
  };
  ExpectRejected(win("[\"mon\", \"Tue\"]", "\"08:00\"", "\"09:00\""), "schedule[0].days[1]",
                 "got 'Tue'");
  ExpectRejected(win("[]", "\"08:00\"", "\"09:00\""), "schedule[0].days");
  ExpectRejected(win("\"mon\"", "\"08:00\"", "\"09:00\""), "schedule[0].days");
  ExpectRejected(win("[\"mon\"]", "\"8:00\"", "\"09:00\""), "schedule[0].start", "HH:MM");
  ExpectRejected(win("[\"mon\"]", "\"08:60\"", "\"09:00\""), "schedule[0].start");
  ExpectRejected(win("[\"mon\"]", "\"08:00\"", "\"24:01\""), "schedule[0].end");
  ExpectRejected(win("[\"mon\"]", "\"25:00\"", "\"26:00\""), "schedule[0].start");
  ExpectRejected(win("[\"mon\"]", "\"09:00\"", "\"09:00\""), "schedule[0].end", "later");
  ExpectRejected(win("[\"mon\"]", "\"10:00\"", "\"09:00\""), "schedule[0].end", "later");
  ExpectRejected(With("[[schedule]]\ndays = [\"mon\"]\nend = \"09:00\"\n"), "schedule[0].start",
                 "missing");
  auto ok = ParseConfig(win("[\"sun\"]", "\"00:00\"", "\"24:00\""), "n.toml");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->schedule[0].days, 1 << 6);
  EXPECT_EQ(ok->schedule[0].end_minute, 24 * 60);
  auto local = ParseConfig(win("[\"fri\"]", "08:15:00", "12:00:00"), "n.toml");  // TOML times
  ASSERT_TRUE(local.ok()) << local.status().ToString();
  EXPECT_EQ(local->schedule[0].start_minute, 8 * 60 + 15);
}

TEST(ConfigTest, SyntaxErrorNamesTheLine) {
  auto r = ParseConfig("role = \"recorder\"\n\n[recording\nsegment_seconds = 4\n", "bad.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_EQ(r.status().message().rfind("bad.toml: line 3: ", 0), 0u) << r.status().message();
  auto dup = ParseConfig(With("role = \"central\"\n"), "dup.toml");  // duplicate key
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().message().rfind("dup.toml: line 6: ", 0), 0u) << dup.status().message();
}

TEST(ConfigTest, ValidateMetadata) {
  EXPECT_TRUE(ValidateMetadata({{"chair", "Trần Thị Bình"},
                                {"participant", "A"},
                                {"participant", "B"},
                                {"x.custom-1_a", "v"}})
                  .ok());
  EXPECT_TRUE(ValidateMetadata({}).ok());
  Status twice = ValidateMetadata({{"chair", "a"}, {"chair", "b"}});
  EXPECT_TRUE(twice.IsInvalidArgument());
  EXPECT_NE(twice.message().find("'chair' given twice"), std::string::npos);
  EXPECT_FALSE(ValidateMetadata({{"", "v"}}).ok());
  EXPECT_FALSE(ValidateMetadata({{"1abc", "v"}}).ok());
  EXPECT_FALSE(ValidateMetadata({{std::string(65, 'a'), "v"}}).ok());
  EXPECT_TRUE(ValidateMetadata({{std::string(64, 'a'), "v"}}).ok());
  EXPECT_FALSE(ValidateMetadata({{"note", "\xff\xfe"}}).ok());
  EXPECT_TRUE(ValidateMetadata({{"note", std::string(4096, 'n')}}).ok());
  EXPECT_FALSE(ValidateMetadata({{"type", "rumour"}}).ok());
  EXPECT_TRUE(ValidateMetadata({{"type", "denunciation"}}).ok());
}

class ScheduleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tz = getenv("TZ");
    had_tz_ = tz != nullptr;
    if (had_tz_) old_tz_ = tz;
    setenv("TZ", "UTC", 1);
    tzset();
  }
  void TearDown() override {
    if (had_tz_)
      setenv("TZ", old_tz_.c_str(), 1);
    else
      unsetenv("TZ");
    tzset();
  }
  // 2024-01-01 was a Monday; 00:00 UTC = 1704067200.
  static std::time_t At(int day_offset, int hour, int minute, int second = 0) {
    return 1704067200 + day_offset * 86400 + hour * 3600 + minute * 60 + second;
  }
  bool had_tz_ = false;
  std::string old_tz_;
};

TEST_F(ScheduleTest, StartInclusiveEndExclusiveDayMask) {
  // Monday and Thursday, 08:00 to 11:30.
  const std::vector<ScheduleWindow> w = {{(1 << 0) | (1 << 3), 8 * 60, 11 * 60 + 30}};
  EXPECT_FALSE(InSchedule(w, At(0, 7, 59, 59)));
  EXPECT_TRUE(InSchedule(w, At(0, 8, 0)));
  EXPECT_TRUE(InSchedule(w, At(0, 11, 29, 59)));
  EXPECT_FALSE(InSchedule(w, At(0, 11, 30)));
  EXPECT_TRUE(InSchedule(w, At(3, 9, 0)));   // Thursday
  EXPECT_FALSE(InSchedule(w, At(1, 9, 0)));  // Tuesday
  EXPECT_FALSE(InSchedule(w, At(6, 9, 0)));  // Sunday
  EXPECT_TRUE(InSchedule(w, At(7, 9, 0)));   // next Monday
  EXPECT_FALSE(InSchedule({}, At(0, 9, 0)));
}

TEST_F(ScheduleTest, SundayIsBitSixAndWholeDayWindow) {
  const std::vector<ScheduleWindow> w = {{1 << 6, 0, 24 * 60}};
  EXPECT_TRUE(InSchedule(w, At(6, 0, 0)));
  EXPECT_TRUE(InSchedule(w, At(6, 23, 59, 59)));
  EXPECT_FALSE(InSchedule(w, At(7, 0, 0)));    // Monday
  EXPECT_FALSE(InSchedule(w, At(5, 23, 59)));  // Saturday
}

TEST_F(ScheduleTest, SeveralWindows) {
  const std::vector<ScheduleWindow> w = {{1, 8 * 60, 9 * 60}, {1, 13 * 60, 14 * 60}};
  EXPECT_TRUE(InSchedule(w, At(0, 8, 30)));
  EXPECT_FALSE(InSchedule(w, At(0, 10, 0)));
  EXPECT_TRUE(InSchedule(w, At(0, 13, 0)));
}

class LoadConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tcd-config-test-" + std::to_string(getpid()));
    fs::create_directories(dir_ / "etc");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string Write(const std::string& text) {
    std::string path = (dir_ / "etc" / "node.toml").string();
    std::ofstream(path) << text;
    return path;
  }
  fs::path dir_;
};

TEST_F(LoadConfigTest, RelativePathsResolveAgainstTheConfigDirectory) {
  std::string path = Write(
      "role = \"recorder\"\ndata_dir = \"../data\"\nnode_key = \"node.key\"\n"
      "recipients = [\"keys/a.pub\", \"/abs/b.pub\"]\n");
  auto r = LoadConfig(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const std::string root = fs::absolute(dir_).lexically_normal().string();
  EXPECT_EQ(r->data_dir, root + "/data");
  EXPECT_EQ(r->node_key, root + "/etc/node.key");
  EXPECT_EQ(r->recipients, (std::vector<std::string>{root + "/etc/keys/a.pub", "/abs/b.pub"}));
  EXPECT_EQ(r->control_socket, root + "/data/control.sock");
  // ParseConfig leaves paths as written.
  auto p = ParseConfig("role = \"central\"\ndata_dir = \"../data\"\nnode_key = \"k\"\n"
                       "listen = \"tcp://0.0.0.0:7702\"\n", "x");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->data_dir, "../data");
}

TEST_F(LoadConfigTest, MissingFileAndErrorsNameThePath) {
  auto missing = LoadConfig((dir_ / "nope.toml").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsNotFound());
  EXPECT_NE(missing.status().message().find("nope.toml"), std::string::npos);
  std::string path = Write("role = \"recorder\"\n");
  auto bad = LoadConfig(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), path + ": data_dir: missing");
}

}  // namespace
}  // namespace tcd::node
