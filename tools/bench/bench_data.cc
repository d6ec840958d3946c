// The search benchmark's data set: who, where, when and what (tools/bench/bench_data.h).
#include "tools/bench/bench_data.h"

#include <algorithm>
#include <cstdio>
#include <unordered_map>

#include "node/text_fold.h"

namespace tcd::bench {
namespace {

struct Weighted {
  const char* name;
  double weight;
};

// 34 provinces: the 2025 list (population, millions, as weights), with two pre-2025 names so
// that an en-dash and a longer name are exercised: Thừa Thiên Huế for Huế and Bà Rịa – Vũng Tàu
// in the place of Tây Ninh.
const Weighted kProvinces[] = {
    {"Hà Nội", 8.7},         {"Thừa Thiên Huế", 1.2},   {"Lai Châu", 0.5},
    {"Điện Biên", 0.6},      {"Sơn La", 1.3},           {"Lạng Sơn", 0.8},
    {"Quảng Ninh", 1.4},     {"Thanh Hóa", 3.7},        {"Nghệ An", 3.4},
    {"Hà Tĩnh", 1.3},        {"Cao Bằng", 0.55},        {"Tuyên Quang", 1.9},
    {"Lào Cai", 1.8},        {"Thái Nguyên", 1.8},      {"Phú Thọ", 4.0},
    {"Bắc Ninh", 3.6},       {"Hưng Yên", 3.6},         {"Hải Phòng", 4.7},
    {"Ninh Bình", 4.4},      {"Quảng Trị", 1.9},        {"Đà Nẵng", 3.1},
    {"Quảng Ngãi", 2.2},     {"Gia Lai", 3.6},          {"Khánh Hòa", 2.2},
    {"Lâm Đồng", 3.9},       {"Đắk Lắk", 3.3},          {"Thành phố Hồ Chí Minh", 14.0},
    {"Đồng Nai", 4.5},       {"Bà Rịa – Vũng Tàu", 1.2}, {"Cần Thơ", 4.2},
    {"Vĩnh Long", 4.3},      {"Đồng Tháp", 4.4},        {"Cà Mau", 2.6},
    {"An Giang", 4.9},
};

// Family names with their approximate share of the population.
const Weighted kFamily[] = {
    {"Nguyễn", 38}, {"Trần", 11}, {"Lê", 9.5}, {"Phạm", 7}, {"Hoàng", 4}, {"Huỳnh", 3},
    {"Phan", 4.5},  {"Vũ", 2.5},  {"Võ", 2.5}, {"Đặng", 2.1}, {"Bùi", 2}, {"Đỗ", 1.4},
    {"Hồ", 1.3},    {"Ngô", 1.3}, {"Dương", 1}, {"Lý", 0.5},
};
const char* const kMiddleMale[] = {"Văn", "Hữu", "Đức", "Minh", "Quang", "Thanh", "Công",
                                   "Xuân", "Ngọc", "Văn", "Văn", "Đình", "Quốc"};
const char* const kMiddleFemale[] = {"Thị", "Ngọc", "Thanh", "Thu", "Kim", "Minh", "Hoài",
                                     "Mỹ", "Thị", "Thị", "Bích", "Diệu"};
const char* const kGivenMale[] = {
    "An",   "Bình", "Dũng",  "Hùng",  "Nam",  "Quân", "Sơn",  "Tâm",   "Tuấn", "Việt",
    "Hải",  "Hiếu", "Khoa",  "Long",  "Phúc", "Thắng", "Trung", "Cường", "Đạt", "Hoàng",
    "Huy",  "Khánh", "Lâm",  "Minh",  "Nghĩa", "Phong", "Tài", "Thành", "Toàn", "Vinh"};
const char* const kGivenFemale[] = {
    "An",   "Cúc",  "Lan",  "Mai",   "Phương", "Tâm",  "Thảo", "Trang", "Yến",  "Hà",
    "Hạnh", "Hằng", "Hoa",  "Hương", "Linh",   "Loan", "Ngân", "Nhung", "Oanh", "Quyên",
    "Thủy", "Trâm", "Uyên", "Vân",   "Xuân",   "Hồng", "Nga",  "Dung",  "Liên", "Thu"};

// Commune names are two syllables, as most are ("Tân Phú", "An Bình").
const char* const kPlaceA[] = {"Tân",  "An",   "Phú",   "Long",  "Hòa",   "Bình", "Thạnh",
                               "Vĩnh", "Phước", "Hưng", "Đông",  "Tây",   "Nam",  "Quang",
                               "Thuận", "Hiệp", "Mỹ",   "Xuân",  "Thái",  "Đức",  "Tiên",
                               "Hải",  "Sơn",  "Lộc",   "Thịnh", "Trung", "Yên"};
const char* const kPlaceB[] = {"Phú",  "Bình", "An",    "Lợi",  "Hưng",  "Thành", "Minh",
                               "Hòa",  "Lộc",  "Thịnh", "Tiến", "Trung", "Đông",  "Tây",
                               "Hiệp", "Thuận", "Phước", "Mỹ",  "Sơn",   "Hải"};
const char* const kHamletKind[] = {"ấp", "thôn", "khu phố", "tổ dân phố", "bản", "xóm"};

const char* const kVerb[4] = {"khiếu nại", "tố cáo", "kiến nghị", "phản ánh"};
const char* const kCasePrefix[4] = {"KN", "TC", "KNG", "PA"};
const char* const kTopics[] = {
    "việc thu hồi đất để thực hiện dự án khu dân cư",
    "mức bồi thường, hỗ trợ tái định cư khi giải phóng mặt bằng",
    "tranh chấp ranh giới đất đai với hộ liền kề",
    "việc chậm cấp giấy chứng nhận quyền sử dụng đất",
    "chế độ chính sách đối với người có công với cách mạng",
    "quyết định xử phạt vi phạm hành chính trong lĩnh vực xây dựng",
    "ô nhiễm môi trường từ cơ sở chăn nuôi, sản xuất",
    "trật tự xây dựng và lấn chiếm hành lang giao thông",
    "việc giải quyết chế độ bảo hiểm xã hội một lần",
    "thái độ, tác phong của cán bộ tiếp nhận hồ sơ",
    "việc quản lý, sử dụng ngân sách và các khoản đóng góp của nhân dân",
    "chất lượng công trình đường giao thông nông thôn",
    "việc xét duyệt hộ nghèo, hộ cận nghèo",
    "tiền điện, nước sinh hoạt tăng bất thường",
    "việc cưỡng chế thi hành quyết định giải quyết khiếu nại",
};
const char* const kAgencies[] = {
    "Ủy ban nhân dân xã",     "Ủy ban nhân dân tỉnh",          "Thanh tra tỉnh",
    "Sở Nông nghiệp và Môi trường", "Tòa án nhân dân khu vực", "Công an xã",
    "Văn phòng đăng ký đất đai", "Sở Xây dựng",                  "Bảo hiểm xã hội tỉnh"};

template <typename T, size_t N>
const T& Pick(Rng& r, const T (&a)[N]) {
  return a[r.Below(N)];
}

size_t PickWeighted(Rng& r, const std::vector<double>& cumulative) {
  double x = r.Unit() * cumulative.back();
  return std::upper_bound(cumulative.begin(), cumulative.end(), x) - cumulative.begin();
}

std::vector<double> Cumulative(const Weighted* w, size_t n) {
  std::vector<double> c;
  double sum = 0;
  for (size_t i = 0; i < n; ++i) c.push_back(sum += w[i].weight);
  return c;
}

std::string Slug(const std::string& name) {
  std::string s = node::FoldText(name);
  std::replace(s.begin(), s.end(), ' ', '-');
  return s;
}

std::string Fmt(const char* f, long a, long b = 0) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, a, b);
  return buf;
}

// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

class NameMaker {
 public:
  NameMaker() : family_(Cumulative(kFamily, std::size(kFamily))) {}
  std::string operator()(Rng& r) const {
    const bool male = r.Chance(0.5);
    std::string n = kFamily[PickWeighted(r, family_)].name;
    n += ' ';
    n += male ? Pick(r, kMiddleMale) : Pick(r, kMiddleFemale);
    if (r.Chance(0.15)) {  // a second middle name: "Nguyễn Thị Ngọc Lan"
      n += ' ';
      n += male ? Pick(r, kMiddleMale) : Pick(r, kMiddleFemale);
    }
    n += ' ';
    n += male ? Pick(r, kGivenMale) : Pick(r, kGivenFemale);
    return n;
  }

 private:
  std::vector<double> family_;
};

std::string Cccd(Rng& r, uint16_t province) {
  // province code, gender/century digit, year of birth, six random digits
  return Fmt("%03ld", province * 3 + 1) + std::to_string(r.Below(4)) +
         Fmt("%02ld", static_cast<long>(r.Below(100))) + Fmt("%06ld", r.Below(1000000));
}

void MakePoints(Rng& r, Dataset* d) {
  const NameMaker name;
  std::vector<double> weights;
  double total = 0;
  for (const auto& p : kProvinces) total += p.weight;
  d->points.push_back({"tru-so-tcd-trung-uong", 0, {name(r), name(r), name(r)}});
  for (uint16_t p = 0; p < std::size(kProvinces); ++p) {
    d->provinces.push_back(kProvinces[p].name);
    d->points.push_back({"ban-tcd-" + Slug(kProvinces[p].name), p, {name(r), name(r), name(r)}});
  }
  const size_t communes = 3300 - d->points.size();
  for (uint16_t p = 0; p < std::size(kProvinces); ++p) {
    const size_t n = std::max<size_t>(30, static_cast<size_t>(communes * kProvinces[p].weight /
                                                              total * 0.98));
    for (size_t i = 0; i < n; ++i) {
      std::string commune = std::string(Pick(r, kPlaceA)) + " " + Pick(r, kPlaceB);
      std::string id = (r.Chance(0.3) ? "phuong-" : "xa-") + Slug(commune) + "-" +
                       Fmt("%04ld", static_cast<long>(d->points.size()));
      Point pt{std::move(id), p, {name(r), name(r)}};
      if (r.Chance(0.5)) pt.chairs.push_back(name(r));
      d->points.push_back(std::move(pt));
    }
  }
}

std::string MakeNote(Rng& r, const Session& s, const std::string& citizen) {
  std::string n = "Công dân " + citizen + " trình bày " + kVerb[s.type] + " về " +
                  Pick(r, kTopics) + " tại thửa đất số " + std::to_string(r.Range(1, 999)) +
                  ", tờ bản đồ số " + std::to_string(r.Range(1, 60)) + ", " +
                  Pick(r, kHamletKind) + " ";
  n += r.Chance(0.5) ? std::to_string(r.Range(1, 15))
                     : std::string(Pick(r, kPlaceA)) + " " + Pick(r, kPlaceB);
  n += ".";
  if (!s.cccd.empty()) n += " CCCD số " + s.cccd + ".";
  if (r.Chance(0.5)) n += std::string(" Đã hướng dẫn công dân gửi đơn đến ") +
                          Pick(r, kAgencies) + ".";
  if (r.Chance(0.3))
    n += " Hẹn trả lời bằng văn bản trong " + std::to_string(r.Range(5, 45)) +
         " ngày làm việc.";
  return n;
}

}  // namespace

uint64_t SubSeed(uint64_t seed, uint64_t what, uint64_t i) {
  Rng r(seed * 0x9e3779b97f4a7c15ULL ^ (what << 56) ^ i);
  r.Next();
  return r.Next();
}

crypto::Metadata OpenMetadata(const Dataset& d, const Session& s) {
  const Point& pt = d.points[s.point];
  crypto::Metadata m;
  m.emplace_back("point", pt.id);
  m.emplace_back("province", d.provinces[pt.province]);
  m.emplace_back("case", s.case_no);
  m.emplace_back("type", kTypes[s.type]);
  m.emplace_back("chair", s.chair);
  for (const auto& p : s.participants) m.emplace_back("participant", p);
  if (!s.conference.empty()) m.emplace_back("conference", s.conference);
  m.emplace_back("note", s.note);
  return m;
}

Dataset GenerateDataset(const GenParams& p) {
  Dataset d;
  d.params = p;
  Rng r(SubSeed(p.seed, 1, 0));
  MakePoints(r, &d);
  std::vector<double> point_w;
  double sum = 0;
  for (size_t i = 0; i < d.points.size(); ++i) {
    double w = i == 0 ? 60 : d.points[i].id.starts_with("ban-") ? 25 : 0.3 + 3 * r.Unit() * r.Unit();
    point_w.push_back(sum += w);
  }
  // Weekdays from 2020-07-01 to 2025-06-30, Vietnam time (UTC+7), 07:30–17:00.
  std::vector<int64_t> days;
  const int64_t first_day = DaysFromCivil(2020, 7, 1), last_day = DaysFromCivil(2025, 6, 30);
  for (int64_t day = first_day; day <= last_day; ++day)
    if ((day + 3) % 7 < 5) days.push_back(day);  // 1970-01-01 was a Thursday
  d.end_us = ((last_day + 1) * 86400 - 7 * 3600) * int64_t{1000000};
  const uint64_t n = p.sessions, nd = days.size();

  const NameMaker name;
  struct Previous {
    uint8_t type;
    std::string case_no, citizen, cccd;
  };
  std::unordered_map<uint32_t, Previous> previous;  // per point: the last case seen there
  std::vector<std::vector<uint32_t>> communes(d.provinces.size());
  for (uint32_t i = 35; i < d.points.size(); ++i) communes[d.points[i].province].push_back(i);
  std::unordered_map<std::string, uint32_t> case_counter;
  uint32_t conf_counter = 0;
  d.sessions.resize(n);
  for (uint64_t i = 0; i < n;) {
    Session& s = d.sessions[i];
    const uint64_t day = i * nd / n, first = (day * n + nd - 1) / nd;
    const uint64_t count = ((day + 1) * n + nd - 1) / nd - first;
    const int64_t slot_us = int64_t{34200} * 1000000 / static_cast<int64_t>(count);
    s.start_us = (days[day] * 86400 + 27000 - 25200) * int64_t{1000000} +
                 static_cast<int64_t>((static_cast<double>(i - first) + 0.5 * r.Unit()) * slot_us);
    const int year = 1970 + static_cast<int>((days[day] * 4 + 2) / 1461);  // exact for 2020–25
    s.point = static_cast<uint32_t>(PickWeighted(r, point_w));
    const Point& pt = d.points[s.point];
    auto prev = previous.find(s.point);
    std::string citizen;
    if (prev != previous.end() && r.Chance(0.3)) {  // a follow-up session of a known case
      s.type = prev->second.type;
      s.case_no = prev->second.case_no;
      citizen = prev->second.citizen;
      s.cccd = prev->second.cccd;
    } else {
      const double t = r.Unit();
      s.type = t < 0.4 ? 0 : t < 0.5 ? 1 : t < 0.7 ? 2 : 3;
      std::string key = std::string(kCasePrefix[s.type]) + "-" + std::to_string(year);
      s.case_no = key + "/" + Fmt("%05ld", ++case_counter[key]);
      citizen = name(r);
      if (r.Chance(0.5)) s.cccd = Cccd(r, pt.province);
    }
    previous[s.point] = {s.type, s.case_no, citizen, s.cccd};
    s.chair = pt.chairs[r.Chance(0.6) ? 0 : r.Below(pt.chairs.size())];
    s.participants.push_back(citizen);
    const double extra = r.Unit();
    for (int k = extra < 0.6 ? 0 : extra < 0.9 ? 1 : 2; k > 0; --k) s.participants.push_back(name(r));
    s.note = MakeNote(r, s, citizen);
    s.segments = static_cast<uint16_t>(1 + r.Below(2 * p.segments_per_session - 1));
    s.last_segment_us = r.Range(5000000, 60000000);
    s.gap = s.segments >= 2 && r.Chance(0.01);
    s.recovered = r.Chance(0.002);
    size_t members = 1;
    // ~5% of sessions belong to a conference of 2–4 points: a province board (or the central
    // office) hosts communes of one province; the host's chair presides over all of them.
    if (s.point <= 34 && r.Chance(0.095)) {
      members = std::min<uint64_t>(2 + r.Below(3), n - i);
      if (members > 1)
        s.conference = "HNTT-" + std::to_string(year) + "/" + Fmt("%05ld", ++conf_counter);
    }
    const uint16_t prov = s.point == 0 ? static_cast<uint16_t>(r.Below(d.provinces.size()))
                                       : pt.province;
    for (size_t j = 1; j < members; ++j) {
      Session& m = d.sessions[i + j];
      m.start_us = s.start_us + static_cast<int64_t>(j) * 1500000 + r.Range(0, 400000);
      m.point = communes[prov][r.Below(communes[prov].size())];
      m.type = s.type;
      m.case_no = s.case_no;
      m.chair = s.chair;
      m.conference = s.conference;
      m.participants.push_back(name(r));
      if (r.Chance(0.5)) m.cccd = Cccd(r, prov);
      m.note = MakeNote(r, m, m.participants[0]);
      m.segments = s.segments;
      m.last_segment_us = s.last_segment_us;
      m.recovered = r.Chance(0.002);
    }
    i += members;
  }
  // Start times are unique and sessions are in start order (ties would make "newest first"
  // depend on the id tie-break, which is not what this benchmark measures).
  std::stable_sort(d.sessions.begin(), d.sessions.end(),
                   [](const Session& a, const Session& b) { return a.start_us < b.start_us; });
  for (uint64_t i = 0; i < n; ++i) {
    Session& s = d.sessions[i];
    if (i > 0 && s.start_us <= d.sessions[i - 1].start_us) s.start_us = d.sessions[i - 1].start_us + 1;
    // UUIDv7: the open time in ms, then random bits.
    const uint64_t ms = static_cast<uint64_t>(s.start_us / 1000);
    const uint64_t a = r.Next(), b = r.Next();
    for (int k = 0; k < 6; ++k) s.id[k] = static_cast<uint8_t>(ms >> (40 - 8 * k));
    for (int k = 6; k < 16; ++k) s.id[k] = static_cast<uint8_t>((k < 11 ? a : b) >> (8 * (k % 8)));
    s.id[6] = static_cast<uint8_t>(0x70 | (s.id[6] & 0x0f));
    s.id[8] = static_cast<uint8_t>(0x80 | (s.id[8] & 0x3f));
    // ~3% get an annotation after the fact: a corrected case number, a participant who was
    // not recorded at the start, or a note.
    if (r.Chance(0.03)) {
      const double k = r.Unit();
      if (k < 0.4) {
        const int year = 1970 + static_cast<int>((s.start_us / 86400000000LL * 4 + 2) / 1461);
        std::string key = std::string(kCasePrefix[s.type]) + "-" + std::to_string(year);
        s.annotation = {{"case", key + "/" + Fmt("%05ld", ++case_counter[key])},
                        {"note", "Điều chỉnh số vụ việc theo quyết định thụ lý"}};
      } else if (k < 0.8) {
        s.annotation = {{"participant", name(r)}};
      } else {
        s.annotation = {{"note", "Bổ sung: công dân nộp thêm tài liệu, biên bản làm việc ngày " +
                                     std::to_string(r.Range(1, 28)) + "/" +
                                     std::to_string(r.Range(1, 12))}};
      }
    }
  }
  return d;
}

}  // namespace tcd::bench
