// SPDX-License-Identifier: Apache-2.0
#include "core/time.hpp"

#include <chrono>
#include <ctime>

namespace dialtone {

TimeMs now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Civil date from days since 1970-01-01 (H. Hinnant's algorithm): no locale, no libc calls;
// this runs several times per published snapshot.
std::string format_iso(TimeMs t) {
  TimeMs days = (t >= 0 ? t : t - 86'399'999) / 86'400'000;
  TimeMs msOfDay = t - days * 86'400'000;
  TimeMs z = days + 719468;
  TimeMs era = (z >= 0 ? z : z - 146096) / 146097;
  TimeMs doe = z - era * 146097;
  TimeMs yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  TimeMs y = yoe + era * 400;
  TimeMs doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  TimeMs mp = (5 * doy + 2) / 153;
  TimeMs d = doy - (153 * mp + 2) / 5 + 1;
  TimeMs m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  char buf[25] = "0000-00-00T00:00:00.000Z";
  auto put = [&buf](int pos, TimeMs v, int width) {
    for (int i = width - 1; i >= 0; --i, v /= 10) buf[pos + i] = static_cast<char>('0' + v % 10);
  };
  put(0, y, 4);
  put(5, m, 2);
  put(8, d, 2);
  put(11, msOfDay / 3'600'000, 2);
  put(14, msOfDay / 60'000 % 60, 2);
  put(17, msOfDay / 1000 % 60, 2);
  put(20, msOfDay % 1000, 3);
  return std::string(buf, 24);
}

namespace {
bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}
}  // namespace

std::optional<TimeMs> parse_iso(std::string_view s) {
  int Y, M, D, h, m, sec;
  if (!digits(s, 0, 4, Y) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, M) || s[7] != '-' ||
      !digits(s, 8, 2, D) || (s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, h) ||
      s[13] != ':' || !digits(s, 14, 2, m) || s[16] != ':' || !digits(s, 17, 2, sec))
    return std::nullopt;
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) return std::nullopt;
  size_t pos = 19;
  int ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int scale = 100, n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      ms += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
      ++n;
    }
    if (n == 0) return std::nullopt;
  }
  std::string_view rest = s.substr(pos);
  if (rest != "Z" && rest != "z" && rest != "+00:00") return std::nullopt;
  std::tm tm{};
  tm.tm_year = Y - 1900;
  tm.tm_mon = M - 1;
  tm.tm_mday = D;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = sec;
  std::time_t secs = timegm(&tm);
  return static_cast<TimeMs>(secs) * 1000 + ms;
}

}  // namespace dialtone
