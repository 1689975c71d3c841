// SPDX-License-Identifier: Apache-2.0
// Call quality as a listener would rate it: the ITU-T G.107 (06/2015) E-model, from what a
// client measures (loss, jitter, round-trip time). Pure arithmetic, no I/O.
//
// Every parameter the recommendation lists keeps its default value (Table 1: SLR 8, RLR 2,
// STMR 15, LSTR 18, Ds = Dr = 3, TELR 65, WEPL 110, qdu 1, Nc -70, Nfor -64, Ps = Pr = 35, A 0,
// mT 100, sT 1), with which G.107 gives R = 93.2 for a perfect connection. What a call changes:
//
// - the delays: the absolute one-way delay Ta = RTT / 2 + the receiver's jitter buffer (twice
//   the measured jitter, at least 40 ms) + 25 ms of packetization and look-ahead (20 ms Opus
//   frames); the echo path's delay T = Ta, and the listener-echo loop Tr = 2 Ta;
// - the equipment impairment: Opus has no value in ITU-T G.113, so it is rated as G.711 with
//   packet-loss concealment (G.113 Appendix I: Ie = 0, Bpl = 25.1) with random loss (BurstR = 1)
//   — an estimate that is honest about loss and delay, not a codec ranking.
//
// The result is an estimate for one direction of a call, as the side that measured it hears it.
#pragma once

namespace dialtone::emodel {

struct Impairments {
  double oneWayDelayMs = 0;  // Ta (and T = Ta, Tr = 2 Ta)
  double lossPercent = 0;    // Ppl
  double ie = 0;             // equipment impairment of the codec
  double bpl = 25.1;         // its packet-loss robustness
  double burstR = 1;         // 1: random loss
};

// The rating factor R (0..100; 93.2 with every default).
double rating(const Impairments& in);
// G.107 Annex B: the estimated mean opinion score (1..4.5) of a rating.
double mos(double r);

// The parts of R that depend on a call (for tests and for saying where the score went).
double delay_impairment(double ta, double t, double tr);       // Id = Idte + Idle + Idd
double effective_equipment_impairment(const Impairments& in);  // Ie,eff

// From a client's measurements: Ta as described above.
double one_way_delay_ms(double rttMs, double jitterMs);
// R for a measured sample, with the Opus-as-G.711-with-PLC rating.
double rating_for(double lossPercent, double jitterMs, double rttMs);

// G.109's user satisfaction bands of R: good (≥ 80: satisfied), fair (≥ 70: some users
// dissatisfied), poor (below).
enum class Level { good, fair, poor };
Level level_of(double r);
const char* level_name(Level l);

}  // namespace dialtone::emodel
