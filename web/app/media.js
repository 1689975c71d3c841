// SPDX-License-Identifier: Apache-2.0
// The microphone and the speaker: getUserMedia with messages a person can act on, the
// remote audio element and its output device (setSinkId where the browser has it).

export class MicError extends Error {}

export function micAvailable() {
  return !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

// What to tell someone whose microphone could not be opened.
export function micMessage(e) {
  const name = e && e.name;
  if (!micAvailable()) {
    return 'This browser offers no microphone to this page: open Dialtone over https:// ' +
      '(or on http://localhost) in a current browser.';
  }
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    return 'Microphone access is blocked. Allow the microphone for this site (the icon at the ' +
      'left of the address bar, or the browser\'s site settings), then call again.';
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') {
    return 'No microphone was found. Connect one (or pick it in your system\'s sound ' +
      'settings), then call again.';
  }
  if (name === 'NotReadableError' || name === 'AbortError') {
    return 'The microphone could not be opened: another application may be using it. ' +
      'Close it, then call again.';
  }
  return `The microphone could not be opened (${name || e}). Check it, then call again.`;
}

export async function openMic() {
  if (!micAvailable()) throw new MicError(micMessage(null));
  try {
    return await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
      video: false,
    });
  } catch (e) {
    throw new MicError(micMessage(e));
  }
}

export function stopStream(stream) {
  if (stream) for (const t of stream.getTracks()) t.stop();
}

export function remoteAudio() {
  return document.getElementById('remote-audio');
}

export function canChooseOutput() {
  return typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;
}

// The audio outputs the browser will name (labels appear once the microphone was granted).
export async function outputs() {
  if (!canChooseOutput() || !navigator.mediaDevices?.enumerateDevices) return [];
  const all = await navigator.mediaDevices.enumerateDevices();
  return all.filter((d) => d.kind === 'audiooutput')
    .map((d, i) => ({ id: d.deviceId, label: d.label || (d.deviceId === 'default' ? 'Default' : `Output ${i + 1}`) }));
}

export async function playRemote(stream, sinkId) {
  const el = remoteAudio();
  if (el.srcObject !== stream) el.srcObject = stream;
  if (sinkId && canChooseOutput() && el.sinkId !== sinkId) await el.setSinkId(sinkId);
  try { await el.play(); } catch (e) { /* autoplay: resumes on the next click */ }
}

export function stopRemote() {
  const el = remoteAudio();
  el.pause();
  el.srcObject = null;
}
