#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""An independent, spec-strict client of protocol v1: aiortc (Debian's python3-aiortc) for
WebRTC, python3-websockets for signaling, written from docs/protocol.md alone.

aiortc applies a trickled candidate only when its sdpMid names a media section of the remote
description (the W3C rule), and learns no peer-reflexive address from the checks it receives
on a pair it does not know. A client whose candidates name the wrong section never connects
with it.

  aiortc_peer.py --server URL --user ID (--answer | --call OTHER) --tone HZ --record OUT.wav
                 [--seconds S]

Prints, one per line: "media: audio flowing", "media path: <local> <remote> <protocol>",
"candidates: applied N, refused M", "ended (<state>)"; exits 0 when the call connected and
ended, 1 otherwise.
"""
import argparse
import asyncio
import fractions
import json
import signal as signal_module
import math
import sys
import time
import urllib.request
import wave

import av
import websockets
from aiortc import (MediaStreamTrack, RTCConfiguration, RTCIceServer, RTCPeerConnection,
                    RTCSessionDescription)
from aiortc.sdp import candidate_from_sdp


def say(line):
    print(line, flush=True)


class Tone(MediaStreamTrack):
    """A sine of `hz`, 20 ms frames of 48 kHz mono s16."""
    kind = "audio"

    def __init__(self, hz):
        super().__init__()
        self.hz, self.n, self.start = hz, 0, None

    async def recv(self):
        if self.start is None:
            self.start = time.time()
        samples = 960
        wait = self.start + self.n / 48000 - time.time()
        if wait > 0:
            await asyncio.sleep(wait)
        frame = av.AudioFrame(format="s16", layout="mono", samples=samples)
        pcm = bytearray()
        for i in range(samples):
            v = int(12000 * math.sin(2 * math.pi * self.hz * (self.n + i) / 48000))
            pcm += v.to_bytes(2, "little", signed=True)
        frame.planes[0].update(bytes(pcm))
        frame.sample_rate, frame.pts = 48000, self.n
        frame.time_base = fractions.Fraction(1, 48000)
        self.n += samples
        return frame


async def record(track, path, flowing):
    """Writes what arrives (mono, 48 kHz) to a WAV file; `flowing` is set at the first frame."""
    out = wave.open(path, "wb")
    out.setnchannels(1)
    out.setsampwidth(2)
    out.setframerate(48000)
    try:
        while True:
            frame = await track.recv()
            flowing.set()
            for f in av.AudioResampler(format="s16", layout="mono", rate=48000).resample(frame):
                out.writeframes(bytes(f.planes[0])[: f.samples * 2])
    except Exception:
        pass
    finally:
        out.close()


def http_json(url, body=None, token=None):
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"content-type": "application/json"})
    if token:
        req.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def selected_path(pc):
    """The nominated pair's candidate types, from aioice (aiortc's ICE)."""
    for t in pc.getTransceivers():
        conn = t.receiver.transport.transport._connection
        for pair in getattr(conn, "_nominated", {}).values():
            local, remote = pair.local_candidate, pair.remote_candidate
            return f"{local.type} {remote.type} {local.transport.lower()}"
    return None


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--answer", action="store_true")
    ap.add_argument("--call")
    ap.add_argument("--tone", type=float, default=880)
    ap.add_argument("--record", required=True)
    ap.add_argument("--seconds", type=float, default=60)
    a = ap.parse_args()

    token = http_json(f"{a.server}/v1/dev/token", {"userId": a.user, "name": a.user})["token"]
    ice = http_json(f"{a.server}/v1/turn-credentials", token=token)
    servers = [RTCIceServer(urls=s["urls"], username=s.get("username"),
                            credential=s.get("credential")) for s in ice.get("iceServers", [])]
    pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
    pc.addTrack(Tone(a.tone))
    flowing = asyncio.Event()
    applied = refused = 0

    @pc.on("track")
    def on_track(track):
        asyncio.ensure_future(record(track, a.record, flowing))

    # For a failed call's story (the lab prints both ends' output): when ICE changed, and what
    # it knew then.
    began = time.time()

    @pc.on("iceconnectionstatechange")
    def on_ice_state():
        say(f"ice: {pc.iceConnectionState} at +{time.time() - began:.2f} s "
            f"(remote candidates applied {applied}, refused {refused})")

    ws_url = a.server.replace("http", "ws", 1) + f"/v1/ws?access_token={token}&deviceId=aiortc-{a.user}"
    async with websockets.connect(ws_url) as ws:
        next_id = 0
        call_id, state, other_role = None, None, None

        async def op(name, **fields):
            nonlocal next_id
            next_id += 1
            await ws.send(json.dumps({"id": next_id, "op": name, **fields}))

        async def signal(data):
            await op("signal", callId=call_id, data=data)

        # SIGTERM hangs up (as the CLI does): the call's end comes back and ends the loop.
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal_module.SIGTERM, stop.set)
        hung_up = False

        hello = json.loads(await ws.recv())
        assert hello.get("type") == "hello", hello
        if a.call:
            await op("create", receiverId=a.call)
        else:
            say(f"waiting for a call as {a.user}")
        deadline = time.time() + a.seconds
        offered = False
        while time.time() < deadline:
            if stop.is_set() and call_id and not hung_up:
                hung_up = True
                await op("end", callId=call_id)
            try:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 0.2))
            except asyncio.TimeoutError:
                if flowing.is_set() and not getattr(main, "said", False):
                    main.said = True
                    await op("ready", callId=call_id)  # ICE, DTLS and audio: the protocol's `ready`
                    say("media: audio flowing")
                    await asyncio.sleep(1)
                    path = selected_path(pc)
                    if path:
                        say(f"media path: {path}")
                continue
            if msg.get("type") == "reply" and msg.get("call") and a.call and not call_id:
                call_id = msg["call"]["callId"]
            if msg.get("type") == "call":
                c = msg["call"]
                if call_id is None and not a.call and c["receiverId"] == a.user and c["state"] in ("calling", "ringing"):
                    call_id = c["callId"]
                    await op("accept", callId=call_id)
                if c["callId"] != call_id:
                    continue
                state = c["state"]
                if a.call and state == "accepted" and not offered:
                    offered = True
                    await pc.setLocalDescription(await pc.createOffer())
                    await signal({"type": "offer", "sdp": pc.localDescription.sdp})
                if state in ("ended", "rejected", "timeout", "busy", "failed"):
                    say(f"ended ({state})")
                    break
            elif msg.get("type") == "signal" and msg.get("callId") == call_id:
                d = msg["data"]
                if d.get("type") == "offer":
                    await pc.setRemoteDescription(RTCSessionDescription(d["sdp"], "offer"))
                    await pc.setLocalDescription(await pc.createAnswer())
                    await signal({"type": "answer", "sdp": pc.localDescription.sdp})
                elif d.get("type") == "answer":
                    await pc.setRemoteDescription(RTCSessionDescription(d["sdp"], "answer"))
                elif d.get("type") == "candidate" and d.get("candidate"):
                    cand = candidate_from_sdp(d["candidate"].split(":", 1)[1])
                    cand.sdpMid, cand.sdpMLineIndex = d.get("sdpMid"), d.get("sdpMLineIndex")
                    # The W3C rule, as aiortc applies it: the mid must name a section.
                    mids = [t.mid for t in pc.getTransceivers()]
                    if cand.sdpMid in mids:
                        applied += 1
                    else:
                        refused += 1
                    await pc.addIceCandidate(cand)
        say(f"candidates: applied {applied}, refused {refused}")
    await pc.close()
    return 0 if state == "ended" and flowing.is_set() else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
