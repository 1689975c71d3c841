// SPDX-License-Identifier: Apache-2.0
#include "core/emodel.hpp"

#include <algorithm>
#include <cmath>

namespace dialtone::emodel {
namespace {

// G.107 Table 1 defaults.
constexpr double kSLR = 8, kRLR = 2, kSTMR = 15, kLSTR = 18, kDs = 3, kTELR = 65, kWEPL = 110;
constexpr double kQdu = 1, kNc = -70, kNfor = -64, kPs = 35, kPr = 35, kMT = 100, kST = 1;

double lg(double x) {
  return std::log10(x);
}

// §7.2: the basic signal-to-noise ratio Ro and the total noise power No.
struct Basic {
  double no, ro;
};
Basic basic() {
  double olr = kSLR + kRLR;
  double nfo = kNfor + kRLR;
  double pre = kPr + 10 * lg(1 + std::pow(10, (10 - kLSTR) / 10));
  double nor = kRLR - 121 + pre + 0.008 * (pre - 35) * (pre - 35);
  double nos = kPs - kSLR - kDs - 100 + 0.004 * std::pow(kPs - olr - kDs - 14, 2);
  double no = 10 * lg(std::pow(10, kNc / 10) + std::pow(10, nos / 10) + std::pow(10, nor / 10) +
                      std::pow(10, nfo / 10));
  return {no, 15 - 1.5 * (kSLR + no)};
}

// §7.3: the simultaneous impairment Is = Iolr + Ist + Iq (T enters through STMRo).
double simultaneous(const Basic& b, double t) {
  double olr = kSLR + kRLR;
  double xolr = olr + 0.2 * (64 + b.no - kRLR);
  double iolr = 20 * (std::pow(1 + std::pow(xolr / 8, 8), 1.0 / 8) - xolr / 8);
  double stmro = -10 * lg(std::pow(10, -kSTMR / 10) + std::exp(-t / 4) * std::pow(10, -kTELR / 10));
  double ist = 12 * std::pow(1 + std::pow((stmro - 13) / 6, 8), 1.0 / 8) -
               28 * std::pow(1 + std::pow((stmro + 1) / 19.4, 35), 1.0 / 35) -
               13 * std::pow(1 + std::pow((stmro - 3) / 33, 13), 1.0 / 13) + 29;
  double q = 37 - 15 * lg(kQdu);
  double g = 1.07 + 0.258 * q + 0.0602 * q * q;
  double y = (b.ro - 100) / 15 + 46 / 8.4 - g / 9;
  double z = 46.0 / 30 - g / 40;
  double iq = 15 * lg(1 + std::pow(10, y) + std::pow(10, z));
  return iolr + ist + iq;
}

}  // namespace

double delay_impairment(double ta, double t, double tr) {
  Basic b = basic();
  // Talker echo (Idte), §7.4.
  double roe = -1.5 * (b.no - kRLR);
  double terv = kTELR - 40 * lg((1 + t / 10) / (1 + t / 150)) + 6 * std::exp(-0.3 * t * t);
  double re = 80 + 2.5 * (terv - 14);
  double idte =
      ((roe - re) / 2 + std::sqrt((roe - re) * (roe - re) / 4 + 100) - 1) * (1 - std::exp(-t));
  // Listener echo (Idle).
  double rle = 10.5 * (kWEPL + 7) * std::pow(tr + 1, -0.25);
  double idle = (b.ro - rle) / 2 + std::sqrt((b.ro - rle) * (b.ro - rle) / 4 + 169);
  // Too-long absolute delay (Idd).
  double idd = 0;
  if (ta > kMT) {
    double x = lg(ta / kMT) / lg(2);
    double e = 6 * kST;
    idd = 25 *
          (std::pow(1 + std::pow(x, e), 1 / e) - 3 * std::pow(1 + std::pow(x / 3, e), 1 / e) + 2);
  }
  return idte + idle + idd;
}

double effective_equipment_impairment(const Impairments& in) {
  double ppl = std::clamp(in.lossPercent, 0.0, 100.0);
  return in.ie + (95 - in.ie) * ppl / (ppl / in.burstR + in.bpl);
}

double rating(const Impairments& in) {
  Basic b = basic();
  double ta = std::max(0.0, in.oneWayDelayMs);
  double r = b.ro - simultaneous(b, ta) - delay_impairment(ta, ta, 2 * ta) -
             effective_equipment_impairment(in);
  return std::clamp(r, 0.0, 100.0);
}

double mos(double r) {
  if (r <= 0) return 1;
  if (r >= 100) return 4.5;
  return 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6;
}

double one_way_delay_ms(double rttMs, double jitterMs) {
  return std::max(0.0, rttMs) / 2 + std::max(40.0, 2 * std::max(0.0, jitterMs)) + 25;
}

double rating_for(double lossPercent, double jitterMs, double rttMs) {
  Impairments in;
  in.oneWayDelayMs = one_way_delay_ms(rttMs, jitterMs);
  in.lossPercent = lossPercent;
  return rating(in);
}

Level level_of(double r) {
  return r >= 80 ? Level::good : r >= 70 ? Level::fair : Level::poor;
}

const char* level_name(Level l) {
  switch (l) {
    case Level::good:
      return "good";
    case Level::fair:
      return "fair";
    case Level::poor:
      return "poor";
  }
  return "poor";
}

}  // namespace dialtone::emodel
