#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Loads libdialtone.so through ctypes (no bindings, no build step) and asks dialtoned whether a
user is busy — the spec's isUserBusy — through the C ABI in include/dialtone/dialtone.h.

    python3 examples/python/is_busy.py --lib build/src/libdialtone.so \
        --server http://127.0.0.1:8080 --token "$TOKEN" bob
"""
import argparse
import ctypes
import sys
import threading


class Config(ctypes.Structure):
    _fields_ = [("server", ctypes.c_char_p), ("token", ctypes.c_char_p),
                ("device_id", ctypes.c_char_p), ("media_enabled", ctypes.c_int),
                ("input", ctypes.c_char_p), ("output", ctypes.c_char_p),
                ("ice_local_addresses", ctypes.c_char_p), ("relay_only", ctypes.c_int),
                ("auto_ringing", ctypes.c_int),
                ("ca_file", ctypes.c_char_p)]


# dt_bool_done: void (*)(void* user, dt_error code, const char* message, int value)
BOOL_DONE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lib", default="libdialtone.so")
    p.add_argument("--server", default="http://127.0.0.1:8080")
    p.add_argument("--token", required=True)
    p.add_argument("user")
    a = p.parse_args()

    lib = ctypes.CDLL(a.lib)
    lib.dt_client_new.restype = ctypes.c_void_p
    lib.dt_client_new.argtypes = [ctypes.POINTER(Config), ctypes.c_void_p, ctypes.c_char_p,
                                  ctypes.c_size_t]
    lib.dt_client_free.argtypes = [ctypes.c_void_p]
    lib.dt_is_user_busy.argtypes = [ctypes.c_void_p, ctypes.c_char_p, BOOL_DONE, ctypes.c_void_p]
    lib.dt_error_name.restype = ctypes.c_char_p

    cfg = Config()
    lib.dt_config_init(ctypes.byref(cfg))
    cfg.server = a.server.encode()
    cfg.token = a.token.encode()
    cfg.media_enabled = 0  # signaling only: no audio needed to ask
    err = ctypes.create_string_buffer(256)
    client = lib.dt_client_new(ctypes.byref(cfg), None, err, len(err))
    if not client:
        print("dt_client_new:", err.value.decode(), file=sys.stderr)
        return 2

    answer = {}
    done = threading.Event()

    @BOOL_DONE
    def on_busy(user, code, message, value):  # runs on the SDK thread
        answer["code"], answer["busy"] = code, bool(value)
        answer["message"] = (message or b"").decode()
        done.set()

    lib.dt_is_user_busy(client, a.user.encode(), on_busy, None)
    done.wait(15)
    lib.dt_client_free(client)
    if answer.get("code") != 0:
        name = lib.dt_error_name(answer.get("code", 12)).decode()
        print(f"error: {name} {answer.get('message', '')}", file=sys.stderr)
        return 1
    print(f"{a.user} busy: {answer['busy']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
