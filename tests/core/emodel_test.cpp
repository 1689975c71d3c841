// SPDX-License-Identifier: Apache-2.0
// The E-model against worked examples: G.107's own statement for its defaults, and values
// worked by hand from its formulas (the arithmetic is in each comment).
#include "core/emodel.hpp"

#include <gtest/gtest.h>

namespace dialtone::emodel {
namespace {

TEST(EModel, EveryDefaultGivesGOneOSevensR932) {
  // G.107 §7.7 / Table 1: with all parameters at their defaults, R = 93.2 (MOS 4.41).
  Impairments defaults;
  EXPECT_NEAR(rating(defaults), 93.2, 0.05);
  EXPECT_NEAR(mos(rating(defaults)), 4.41, 0.005);
  // Of which Id = Idte + Idle = 0.15 at T = 0 (Ro 94.77 − Is 1.41 − Id 0.15 = 93.2).
  EXPECT_NEAR(delay_impairment(0, 0, 0), 0.15, 0.01);
}

TEST(EModel, EffectiveEquipmentImpairmentByHand) {
  // G.729A (G.113: Ie 11, Bpl 19) at 2 % random loss: 11 + (95 − 11) · 2 / (2 + 19) = 19.
  Impairments g729;
  g729.ie = 11;
  g729.bpl = 19;
  g729.lossPercent = 2;
  EXPECT_NEAR(effective_equipment_impairment(g729), 19.0, 1e-9);
  // G.711 with PLC (Ie 0, Bpl 25.1) at 5 %: 95 · 5 / 30.1 = 15.78; R = 93.21 − 15.78 = 77.42.
  Impairments g711;
  g711.lossPercent = 5;
  EXPECT_NEAR(effective_equipment_impairment(g711), 15.781, 0.001);
  EXPECT_NEAR(rating(g711), 77.42, 0.02);
  // Bursty loss weighs more: BurstR 2 at 5 %: 95 · 5 / (2.5 + 25.1) = 17.21.
  g711.burstR = 2;
  EXPECT_NEAR(effective_equipment_impairment(g711), 17.210, 0.001);
}

TEST(EModel, AbsoluteDelayByHand) {
  // Idd at Ta = 400 ms (mT 100, sT 1): X = log2(4) = 2;
  // 25 · ((1 + 2^6)^(1/6) − 3 · (1 + (2/3)^6)^(1/6) + 2) = 25 · (2.00517 − 3.04238 + 2) = 24.07.
  // Idte is 0 at T = 0 and Idle does not depend on Ta, so the difference is Idd alone.
  EXPECT_NEAR(delay_impairment(400, 0, 0) - delay_impairment(0, 0, 0), 24.07, 0.01);
  // Up to mT there is none.
  EXPECT_NEAR(delay_impairment(100, 0, 0) - delay_impairment(0, 0, 0), 0.0, 1e-9);
  // R falls with delay, and below G.109's "satisfied" band a little past 200 ms one way.
  Impairments d;
  d.oneWayDelayMs = 150;
  double r150 = rating(d);
  d.oneWayDelayMs = 300;
  double r300 = rating(d);
  EXPECT_GT(r150, 85);
  EXPECT_LT(r300, r150);
  EXPECT_EQ(level_of(r300), Level::fair);
}

TEST(EModel, MosOfRatingByHand) {
  // Annex B: MOS = 1 + 0.035 R + R (R − 60)(100 − R) · 7e-6.
  EXPECT_NEAR(mos(80), 1 + 2.8 + 80 * 20 * 20 * 7e-6, 1e-12);   // 4.024
  EXPECT_NEAR(mos(50), 1 + 1.75 - 50 * 10 * 50 * 7e-6, 1e-12);  // 2.575
  EXPECT_EQ(mos(-3), 1);
  EXPECT_EQ(mos(120), 4.5);
}

TEST(EModel, FromAClientsMeasurements) {
  // Ta = RTT/2 + max(40, 2 · jitter) + 25.
  EXPECT_DOUBLE_EQ(one_way_delay_ms(100, 5), 50 + 40 + 25);
  EXPECT_DOUBLE_EQ(one_way_delay_ms(100, 30), 50 + 60 + 25);
  // A clean LAN call is good; 10 % loss is poor; 3 % with 300 ms RTT is fair.
  EXPECT_EQ(level_of(rating_for(0, 2, 10)), Level::good);
  EXPECT_EQ(level_of(rating_for(10, 20, 100)), Level::poor);
  EXPECT_EQ(level_of(rating_for(3, 20, 300)), Level::fair);
  EXPECT_GT(mos(rating_for(0, 2, 10)), 4.3);
}

}  // namespace
}  // namespace dialtone::emodel
