#!/usr/bin/env python3
"""Writes the seed corpus of VhostUserFuzzTest (transport-vhost-user), in the harness's input format:
  u8 setup (bit0 QEMU-like set-up, bit1 REPLY_ACK, bit2 INDIRECT_DESC, bit3 EVENT_IDX, bit4 worker pool)
  u8 queue size (2 << n % 8) | u8 writes, each u16 offset u8 len bytes (guest memory, first 64 KiB)
  u8 heads, each u16 | then messages: u8 request u8 flags u16 declared size u16 sent size, payload
Queue 1's ring (set-up): descriptors at 0x8000, avail at 0xC000, used at 0xE000; queue 0 at 0x0.
"""
import os, struct, sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)

def desc(addr, ln, flags, nxt): return struct.pack("<QIHH", addr, ln, flags, nxt)
def write(off, data): return struct.pack("<HB", off, len(data)) + data
def msg(req, flags, payload, declared=None):
    d = len(payload) if declared is None else declared
    return struct.pack("<BBHH", req, flags, d, len(payload)) + payload
def fuse_getattr(unique): return struct.pack("<IIQQIIII", 56, 3, unique, 1, 0, 0, 0, 0) + bytes(16)

NEXT, WRITE, INDIRECT = 1, 2, 4
seeds = {}
# A valid request on queue 1: readable header at 0x1000, writable reply space at 0x2000.
chain = desc(0x1000, 56, NEXT, 1) + desc(0x2000, 256, WRITE, 0)
avail = struct.pack("<HHH", 0, 1, 0)  # flags, idx=1, ring[0]=head 0
seeds["one_request"] = bytes([1 | 2, 3]) + bytes([3]) + write(0x8000, chain) + write(0xC000, avail) + \
    write(0x1000, fuse_getattr(7)) + bytes([1]) + struct.pack("<H", 0)
# A loop in the chain, an out-of-range next, an indirect table.
loop = desc(0x1000, 56, NEXT, 1) + desc(0x2000, 256, WRITE | NEXT, 0)
seeds["loop"] = bytes([1, 3]) + bytes([2]) + write(0x8000, loop) + write(0xC000, avail) + bytes([2]) + struct.pack("<HH", 0, 1)
ind = desc(0x3000, 32, INDIRECT, 0)
table = desc(0x1000, 56, NEXT, 1) + desc(0x2000, 256, WRITE, 0)
seeds["indirect"] = bytes([1 | 4, 3]) + bytes([4]) + write(0x8000, ind) + write(0x3000, table) + write(0xC000, avail) + \
    write(0x1000, fuse_getattr(9)) + bytes([1]) + struct.pack("<H", 0)
huge = desc(0xFFFFFFFFFFFF0000, 0xFFFFFFFF, NEXT, 1) + desc(0x2000, 0, WRITE, 0)
seeds["outside_memory"] = bytes([1, 3]) + bytes([2]) + write(0x8000, huge) + write(0xC000, avail) + bytes([1]) + struct.pack("<H", 0)
# Raw messages without set-up, and bad ones after it.
seeds["raw_messages"] = bytes([0, 0, 0, 0]) + msg(1, 1, b"") + msg(2, 1, struct.pack("<Q", 1 << 32)) + msg(3, 1, b"") + \
    msg(8, 1, struct.pack("<II", 1, 3)) + msg(9, 1, bytes(40)) + msg(5, 1, struct.pack("<II", 9, 0)) + msg(99 % 42, 1, b"x")
seeds["after_setup"] = bytes([1 | 2 | 8, 7, 0, 0]) + msg(11, 1, struct.pack("<II", 1, 0)) + msg(34, 9, b"") + \
    msg(38, 9, bytes(40)) + msg(37, 9, struct.pack("<QQQQQ", 0, 0x100000, 0x100000, 0x7f0000200000, 0)) + \
    msg(18, 9, struct.pack("<II", 5, 1)) + msg(10, 9, struct.pack("<II", 1, 0xffff)) + msg(16, 9, struct.pack("<Q", 1 << 60)) + \
    msg(5, 9, struct.pack("<II", 200, 0) + bytes(32)) + msg(13, 9, struct.pack("<Q", 0x101)) + msg(12, 8, b"", declared=4000)
seeds["pool_and_mq"] = bytes([1 | 2 | 16, 2, 3]) + write(0x8000, chain) + write(0xC000, avail) + write(0x1000, fuse_getattr(11)) + \
    bytes([0]) + msg(17, 9, b"") + msg(36, 9, b"") + msg(40, 9, b"") + msg(39, 9, struct.pack("<Q", 0xf))
# The stream ends inside a message that carries an fd (declared 8 bytes, none sent): the fd must not leak.
seeds["truncated_fd_message"] = bytes([1, 3, 0, 0]) + msg(13, 1, b"", declared=8)
for k, v in seeds.items():
    with open(os.path.join(out, k), "wb") as f:
        f.write(v)
print("wrote", len(seeds), "seeds to", out)
