// SPDX-License-Identifier: Apache-2.0
// Call quality from getStats, every interval: loss from the deltas of inbound-rtp counters,
// jitter, and the round trip of the selected candidate pair. The five levels and their loss
// thresholds are the C++ SDK's (quality_for_loss), so both clients show the same thing.

export const LEVELS = ['excellent', 'good', 'fair', 'poor', 'very_poor'];
export const LEVEL_TEXT = {
  excellent: 'Excellent', good: 'Good', fair: 'Fair', poor: 'Poor', very_poor: 'Very poor',
};

export function levelForLoss(loss) {
  if (loss <= 2) return 'excellent';
  if (loss <= 5) return 'good';
  if (loss <= 10) return 'fair';
  if (loss <= 15) return 'poor';
  return 'very_poor';
}

export class QualityMeter {
  constructor() { this.last = null; }

  // One reading from a getStats() report; null before there is anything to compare.
  read(report) {
    let inbound = null;
    let rttMs = null;
    let bytesSent = 0;
    report.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'audio') inbound = s;
      if (s.type === 'outbound-rtp' && s.kind === 'audio') bytesSent += s.bytesSent || 0;
      if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded' &&
          typeof s.currentRoundTripTime === 'number') rttMs = s.currentRoundTripTime * 1000;
    });
    if (!inbound) return null;
    const now = {
      received: inbound.packetsReceived || 0,
      lost: Math.max(0, inbound.packetsLost || 0),
    };
    const prev = this.last;
    this.last = now;
    const received = prev ? now.received - prev.received : now.received;
    const lost = prev ? Math.max(0, now.lost - prev.lost) : now.lost;
    const expected = received + lost;
    const lossPercent = expected > 0 ? (100 * lost) / expected : (prev ? 100 : 0);
    return {
      level: levelForLoss(lossPercent),
      lossPercent,
      jitterMs: (inbound.jitter || 0) * 1000,
      rttMs,
      packetsReceived: now.received,
      packetsInInterval: received,
      bytesReceived: inbound.bytesReceived || 0,
      bytesSent,
    };
  }
}
